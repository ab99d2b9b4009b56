"""The outbox relay: every job row not heard of in time is sent to the queue again.

A job's `dispatch_time` says when it was last heard of: sent to the queue, or, while a worker
runs it, until when that worker holds it (a lease, kept ahead of now by a heartbeat). The
relay re-sends a job `OUTBOX_REDRIVE_AFTER` seconds after that, unless it may still be waiting
its turn in the queue; so a slow job is not started twice and a long backlog is not sent again.
Jobs are idempotent, so sending one twice costs a little work and never a duplicate memory.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from shared.clock import now_ms
from shared.db.models import Job
from shared.db.session import Database
from shared.dead_letters import record_failure
from shared.memories import forget_spent_deletions
from shared.queue import JobQueue
from shared.runtime import Runtime

log = logging.getLogger(__name__)
BATCH = 200


def publish(db: Database, queue: JobQueue, task_ids: list[str]) -> bool:
    """Sends the jobs; if the broker did not take them they go back to the relay at once
    (some may have been sent: a job sent twice runs once). Returns whether it took them."""
    if not task_ids:
        return True
    try:
        queue.send(task_ids)
        return True
    except Exception as exc:
        log.warning("enqueue failed", extra={"jobs": len(task_ids), "error": str(exc)})
    try:
        with db.transaction() as session:
            session.execute(
                update(Job)
                .where(Job.id.in_(task_ids), Job.status == "running")
                .values(dispatch_time=None)
            )
    except Exception:
        log.exception("could not mark jobs for re-send", extra={"jobs": len(task_ids)})
    return False


def heartbeat_seconds(redrive_after: float) -> float:
    """How often a worker renews its lease: a quarter of the delay before a re-send."""
    return redrive_after / 4


def lease_ms(redrive_after: float) -> int:
    """A lease lasts two heartbeats, so one late heartbeat does not lose it."""
    return int(2 * heartbeat_seconds(redrive_after) * 1000)


def take_lease(job: Job, now: int, redrive_after: float) -> bool:
    """For a worker starting the job, its row locked: the job is this worker's until the
    lease ends, or, if another worker holds a lease on it, False (a duplicate delivery)."""
    if job.dispatch_time is not None and job.dispatch_time > now:
        return False
    job.dispatch_time = now + lease_ms(redrive_after)
    return True


def _extend_lease(db: Database, task_id: str, redrive_after: float, release: bool) -> None:
    """Moves a held lease forward, or ends it (release); a lease already over stays over."""
    now = now_ms()
    try:
        with db.transaction() as session:
            session.execute(
                update(Job)
                .where(Job.id == task_id, Job.status == "running", Job.dispatch_time > now)
                .values(dispatch_time=now if release else now + lease_ms(redrive_after))
            )
    except Exception as exc:  # the relay re-sends the job when its lease runs out
        log.warning(
            "job lease not updated",
            extra={"task_id": task_id, "release": release, "error": str(exc)[:300]},
        )


@contextmanager
def lease_kept(db: Database, task_id: str, redrive_after: float) -> Iterator[None]:
    """While the block runs the job's lease is renewed; if the block fails the lease is
    given back, so the job's retry can start as soon as it arrives."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(heartbeat_seconds(redrive_after)):
            _extend_lease(db, task_id, redrive_after, release=False)

    thread = threading.Thread(target=beat, name="job-lease", daemon=True)
    thread.start()
    try:
        yield
    except Exception:
        _extend_lease(db, task_id, redrive_after, release=True)
        raise
    finally:
        stop.set()


def _head_of_queue_sent(queue: JobQueue, session: Session, now: int) -> int | None:
    """When the job next in the broker's queue was last sent (None: the queue is empty, or it
    cannot tell). Jobs leave the queue in the order they were sent, so a job sent before that
    one and not heard of since is not waiting in it: it was lost."""
    try:
        task_id = queue.next_job()
    except Exception as exc:
        log.warning("could not read the head of the queue", extra={"error": str(exc)[:300]})
        return None
    sent = task_id and session.scalar(select(Job.dispatch_time).where(Job.id == task_id))
    return sent if sent and sent <= now else None  # a lease ahead tells nothing of its send


def redrive_pending(runtime: Runtime) -> int:
    """Re-sends due jobs; returns how many were sent. Safe to run from several gateways."""
    settings = runtime.settings
    now = now_ms()
    due = now - int(settings.outbox_redrive_after * 1000)
    with runtime.db.transaction() as session:
        jobs = list(
            session.scalars(
                select(Job)
                .where(
                    Job.status == "running",
                    or_(Job.dispatch_time.is_(None), Job.dispatch_time < due),
                )
                .order_by(Job.create_time)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        head = _head_of_queue_sent(runtime.queue, session, now) if jobs else None
        to_send = []
        for job in jobs:
            if head is not None and job.dispatch_time is not None and job.dispatch_time >= head:
                continue  # sent with or after the queue's next job: still waiting its turn
            if job.attempts >= settings.job_max_attempts:
                record_failure(
                    session, job, job.error or f"not finished after {job.attempts} attempts"
                )
                continue
            job.dispatch_time = now
            to_send.append(job.id)
    if not to_send:
        return 0
    try:
        runtime.queue.send(to_send)
    except Exception as exc:
        log.warning("outbox re-send failed", extra={"jobs": len(to_send), "error": str(exc)})
        return 0
    log.info("outbox re-sent jobs", extra={"count": len(to_send)})
    return len(to_send)


class OutboxRelay:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        interval = self._runtime.settings.outbox_poll_interval
        while not self._stop.wait(interval):
            try:
                redrive_pending(self._runtime)
                with self._runtime.db.transaction() as session:
                    forget_spent_deletions(session)
            except Exception:
                log.exception("outbox relay pass failed")
