"""Failed jobs stay in the tasks table with their error; a person lists and replays them."""

from sqlalchemy import select

from shared.clock import now_ms
from shared.db.models import Task
from shared.db.session import new_session, transaction
from shared.queue import enqueue_extraction


def failed_jobs() -> list[Task]:
    with new_session() as session:
        return list(session.scalars(select(Task).where(Task.status == "failed")
                                    .order_by(Task.update_time)))


def replay(task_id: str | None) -> int:
    """Marks the job(s) running with fresh attempts and sends them to the queue."""
    with transaction() as session:
        query = select(Task).where(Task.status == "failed")
        if task_id:
            query = query.where(Task.id == task_id)
        tasks = list(session.scalars(query))
        now = now_ms()
        for task in tasks:
            task.status, task.attempts, task.error = "running", 0, None
            task.dispatch_time, task.update_time = now, now
        ids = [t.id for t in tasks]
    for job in ids:
        enqueue_extraction(job)
    return len(ids)
