from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db.models import Job, Message


def conversation_messages(
    session: Session, project_id: str, user_id: str, conversation_id: str, last: int | None
) -> list[Message]:
    query = (
        select(Message)
        .where(
            Message.project_id == project_id,
            Message.user_id == user_id,
            Message.conversation_id == conversation_id,
        )
        .order_by(Message.seq.desc())
    )
    if last:
        query = query.limit(last)
    return list(reversed(session.scalars(query).all()))


def get_job(session: Session, project_id: str, task_id: str) -> Job | None:
    job = session.get(Job, task_id)
    return job if job is not None and job.project_id == project_id else None
