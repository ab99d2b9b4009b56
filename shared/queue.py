"""The Celery app both sides share: the gateway sends jobs by name, workers register them.

One app per process, configured from the settings when first used (the embedded runner sets
REDIS_URL to its own redis-server before that)."""

import base64
import uuid
from typing import Any

import orjson
import redis
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
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0.1,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        broker_transport_options={
            "visibility_timeout": 3600,
            "socket_timeout": 2,
            "socket_connect_timeout": 2,
        },
        worker_hijack_root_logger=False,
    )
    _configured_for = broker
    return celery_app


def queue_depth() -> int:
    """Jobs waiting in the broker's queue (not yet taken by a worker)."""
    app = configure_celery()
    with app.connection_for_read() as connection:
        # The broker is Redis; kombu types default_channel as the abstract StdChannel.
        channel = connection.default_channel
        return int(channel.client.llen(app.conf.task_default_queue))  # type: ignore[attr-defined]


def enqueue_extraction(task_id: str) -> None:
    enqueue_extractions([task_id])


def enqueue_extractions(task_ids: list[str]) -> None:
    """Sends the jobs in one round trip to Redis, each message stored exactly as kombu's
    Redis transport stores it; `send_task` would cost ten times as much a job (a Redis
    client, a producer and routing for every message)."""
    pipe = _broker_client().pipeline(transaction=False)
    queue = configure_celery().conf.task_default_queue
    for task_id in task_ids:
        pipe.lpush(queue, orjson.dumps(job_message(task_id)))
    pipe.execute()


def job_message(task_id: str) -> dict[str, Any]:
    """The message `send_task` would send for the job, made by Celery's own `as_task_v2`."""
    app = configure_celery()
    # As send_task passes them, though the stubs want a tuple and a bool: args is shown in
    # the message's argsrepr header, and ignore_result stays unset.
    message = app.amqp.as_task_v2(
        task_id,
        EXTRACT_TASK,
        args=[task_id],  # type: ignore[arg-type]
        reply_to=app.thread_oid,
        ignore_result=None,  # type: ignore[arg-type]
    )
    return {
        "body": base64.b64encode(orjson.dumps(message.body)).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": message.headers,
        "properties": {
            **message.properties,
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": app.conf.task_default_queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }


_client: tuple[str, redis.Redis] | None = None


def _broker_client() -> redis.Redis:
    """One pooled client per broker URL, failing fast when the broker is down."""
    global _client
    broker = configure_celery().conf.broker_url
    if _client is None or _client[0] != broker:
        url = broker.replace("redis+socket://", "unix://", 1)  # kombu's spelling of a socket
        _client = (broker, redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2))
    return _client[1]
