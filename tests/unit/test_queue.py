"""The job messages the gateway writes to Redis itself are the ones Celery would send."""

import base64
import json

from celery import Celery

from shared.queue import DEFAULT_BROKER, EXTRACT_TASK, JobQueue


def _comparable(message: dict) -> dict:
    message = json.loads(json.dumps(message))
    message["body"] = json.loads(base64.b64decode(message["body"]))
    del message["properties"]["delivery_tag"]  # a fresh uuid per message
    del message["properties"]["reply_to"]  # the sending app's own id
    return message


def test_job_message_is_what_send_task_stores() -> None:
    reference = Celery("reference", broker="memory://")
    reference.send_task(EXTRACT_TASK, args=["job-1"], task_id="job-1")
    with reference.connection_for_read() as connection:
        sent = connection.default_channel._get(reference.conf.task_default_queue)
    queue = JobQueue(DEFAULT_BROKER)  # makes the message; sends nothing here
    ours = queue.job_message("job-1")
    queue.close()
    assert ours["properties"]["delivery_tag"] != sent["properties"]["delivery_tag"]
    assert _comparable(ours) == _comparable(sent)
