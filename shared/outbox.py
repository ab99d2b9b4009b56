"""The outbox relay: every job row not finished in time is sent to the queue again.

Jobs are idempotent, so sending one twice costs a little work and never a duplicate memory.
"""

import logging
import threading

from sqlalchemy import or_, select

from shared.clock import now_ms
from shared.config import get_settings
from shared.db.models import Task
from shared.db.session import transaction
from shared.dead_letters import record_failure
from shared.queue import enqueue_extractions

log = logging.getLogger(__name__)
BATCH = 200


def redrive_pending() -> int:
    """Re-sends due jobs; returns how many were sent. Safe to run from several gateways."""
    settings = get_settings()
    now = now_ms()
    due = now - int(settings.outbox_redrive_after * 1000)
    with transaction() as session:
        tasks = list(session.scalars(
            select(Task).where(Task.status == "running",
                               or_(Task.dispatch_time.is_(None), Task.dispatch_time < due))
            .order_by(Task.create_time).limit(BATCH).with_for_update(skip_locked=True)))
        to_send = []
        for task in tasks:
            if task.attempts >= settings.job_max_attempts:
                record_failure(session, task, task.error or
                               f"not finished after {task.attempts} attempts")
                continue
            task.dispatch_time = now
            to_send.append(task.id)
    if not to_send:
        return 0
    try:
        enqueue_extractions(to_send)
    except Exception as exc:
        log.warning("outbox re-send failed", extra={"jobs": len(to_send), "error": str(exc)})
        return 0
    log.info("outbox re-sent jobs", extra={"count": len(to_send)})
    return len(to_send)


class OutboxRelay:
    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        interval = get_settings().outbox_poll_interval
        while not self._stop.wait(interval):
            try:
                redrive_pending()
            except Exception:
                log.exception("outbox relay pass failed")
