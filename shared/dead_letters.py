"""Jobs that failed for good: recorded with their error, listed and replayed by a person
(`memos jobs failed`, `memos jobs replay`)."""

import logging
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from shared.clock import now_ms
from shared.db.models import DeadLetter, Job
from shared.db.session import Database
from shared.queue import JobQueue
from shared.webhooks import emit, task_event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FailedJob:
    task_id: str
    project_id: str
    user_id: str
    attempts: int
    error: str
    fail_time: int


def record_failure(session: Session, job: Job, error: str) -> None:
    """Marks the job failed and files its dead letter, in the caller's transaction."""
    now = now_ms()
    job.status, job.error, job.update_time = "failed", error[:2000], now
    session.add(
        DeadLetter(
            task_id=job.id,
            project_id=job.project_id,
            error=error[:2000],
            attempts=job.attempts,
            fail_time=now,
        )
    )
    emit(
        session,
        job.project_id,
        lambda: [task_event("failed", job.id, job.user_id, job.kind, error[:2000])],
    )
    log.error("job failed", extra={"task_id": job.id, "error": error[:500]})


def delete_dead_letters(session: Session, task_ids: list[str]) -> int:
    """Forgets the dead letters of these jobs (an erasure); returns how many there were."""
    count = 0
    for start in range(0, len(task_ids), 500):
        # A DELETE's result is a CursorResult; Session.execute is typed as the general Result.
        count += cast(
            CursorResult[Any],
            session.execute(
                delete(DeadLetter).where(DeadLetter.task_id.in_(task_ids[start : start + 500]))
            ),
        ).rowcount
    return count


def failed_jobs(db: Database, project_id: str | None = None) -> list[FailedJob]:
    """The dead letters not replayed yet (of one project, or all), oldest first."""
    query = (
        select(DeadLetter, Job)
        .join(Job, Job.id == DeadLetter.task_id)
        .where(DeadLetter.replay_time.is_(None))
        .order_by(DeadLetter.fail_time)
    )
    if project_id is not None:
        query = query.where(DeadLetter.project_id == project_id)
    with db.session() as session:
        rows = session.execute(query).all()
        return [
            FailedJob(
                job.id,
                job.project_id,
                job.user_id,
                letter.attempts,
                letter.error,
                letter.fail_time,
            )
            for letter, job in rows
        ]


def replay(
    db: Database, queue: JobQueue, task_id: str | None, project_id: str | None = None
) -> int:
    """Sends the failed job (or all of them, of one project or all) to the queue again, with
    fresh attempts."""
    with db.transaction() as session:
        query = select(DeadLetter).where(DeadLetter.replay_time.is_(None))
        if task_id:
            query = query.where(DeadLetter.task_id == task_id)
        if project_id is not None:
            query = query.where(DeadLetter.project_id == project_id)
        letters = list(session.scalars(query.with_for_update()))
        now = now_ms()
        ids = sorted({letter.task_id for letter in letters})
        for letter in letters:
            letter.replay_time = now
        for job in session.scalars(select(Job).where(Job.id.in_(ids))):
            job.status, job.attempts, job.error = "running", 0, None
            job.dispatch_time, job.update_time = now, now
    if ids:
        queue.send(ids)
    return len(ids)
