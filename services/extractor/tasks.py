"""Celery entry points: thin, load and call the service."""

from services.extractor import service
from shared.config import get_settings
from shared.queue import EXTRACT_TASK, get_celery

celery_app = get_celery()


@celery_app.task(name=EXTRACT_TASK, bind=True, acks_late=True)
def extract_memories(self, task_id: str) -> None:
    try:
        service.run_extraction(task_id)
    except Exception as exc:
        if self.request.retries + 1 >= get_settings().job_max_attempts:
            service.mark_failed(task_id, f"{type(exc).__name__}: {exc}")
            return
        raise self.retry(exc=exc, countdown=min(60, 2 ** self.request.retries)) from exc
