"""The job queue: a Celery app on Redis that gateways send jobs to and workers take them from.

Jobs are sent by name, so a gateway needs none of the worker's code; a worker registers the
task on the same app (services/extractor/tasks.py)."""

import base64
import uuid
from typing import Any

import orjson
import redis
from celery import Celery

EXTRACT_TASK = "extract_memories"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def make_celery(broker: str) -> Celery:
    app = Celery("memos", set_as_current=False)
    app.conf.update(
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
    return app


class JobQueue:
    """The broker of one process: its Celery app and a pooled Redis client that fails fast
    when the broker is down."""

    def __init__(self, broker: str) -> None:
        self.app = make_celery(broker)
        self.name: str = self.app.conf.task_default_queue
        url = broker.replace("redis+socket://", "unix://", 1)  # kombu's spelling of a socket
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def depth(self) -> int:
        """Jobs waiting in the queue (not yet taken by a worker)."""
        return int(self._redis.llen(self.name))

    def next_job(self) -> str | None:
        """The id of the job a worker takes next, None when the queue is empty."""
        raw = self._redis.lindex(self.name, -1)
        return str(orjson.loads(raw)["headers"]["id"]) if raw else None

    def send(self, task_ids: list[str]) -> None:
        """Sends the jobs in one round trip to Redis, each message stored exactly as kombu's
        Redis transport stores it; `send_task` would cost ten times as much a job (a Redis
        client, a producer and routing for every message)."""
        pipe = self._redis.pipeline(transaction=False)
        for task_id in task_ids:
            pipe.lpush(self.name, orjson.dumps(self.job_message(task_id)))
        pipe.execute()

    def job_message(self, task_id: str) -> dict[str, Any]:
        """The message `send_task` would send for the job, made by Celery's own `as_task_v2`."""
        # As send_task passes them, though the stubs want a tuple and a bool: args is shown in
        # the message's argsrepr header, and ignore_result stays unset.
        message = self.app.amqp.as_task_v2(
            task_id,
            EXTRACT_TASK,
            args=[task_id],  # type: ignore[arg-type]
            reply_to=self.app.thread_oid,
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
                "delivery_info": {"exchange": "", "routing_key": self.name},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            },
        }

    def close(self) -> None:
        self._redis.close()
        self.app.close()
