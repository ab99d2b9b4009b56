"""The Celery app both sides share: the gateway sends jobs by name, workers register them.

One app per process, configured from the settings when first used (the embedded runner sets
REDIS_URL to its own redis-server before that)."""

from celery import Celery

from shared.config import get_settings

EXTRACT_TASK = "extract_memories"

celery_app = Celery("memos")
_configured_for: str | None = None


def configure_celery() -> Celery:
    global _configured_for
    broker = get_settings().redis_url or "redis://127.0.0.1:6379/0"
    if _configured_for == broker:
        return celery_app
    if _configured_for is not None:
        celery_app.close()  # drop pooled connections to the previous broker
    celery_app.conf.update(
        broker_url=broker,
        task_serializer="json",
        accept_content=["json"],
        # A job is acknowledged only when it finished: a worker killed mid-job loses nothing.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        # Publishing must fail fast when the broker is down: the outbox re-sends later.
        task_publish_retry=True,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.1,
                                   "interval_step": 0.2, "interval_max": 0.5},
        broker_transport_options={"visibility_timeout": 3600, "socket_timeout": 2,
                                  "socket_connect_timeout": 2},
        worker_hijack_root_logger=False,
    )
    _configured_for = broker
    return celery_app


def queue_depth() -> int:
    """Jobs waiting in the broker's queue (not yet taken by a worker)."""
    app = configure_celery()
    with app.connection_for_read() as connection:
        return int(connection.default_channel.client.llen(app.conf.task_default_queue))


def enqueue_extraction(task_id: str) -> None:
    configure_celery().send_task(EXTRACT_TASK, args=[task_id], task_id=task_id)
