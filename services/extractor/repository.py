from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db.models import Job, Message


def job_messages(session: Session, task_id: str) -> list[Message]:
    return list(
        session.scalars(select(Message).where(Message.task_id == task_id).order_by(Message.seq))
    )


def lock_job(session: Session, task_id: str) -> Job | None:
    return session.scalar(select(Job).where(Job.id == task_id).with_for_update())
