from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db.models import Message, Task


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


def get_task(session: Session, project_id: str, task_id: str) -> Task | None:
    task = session.get(Task, task_id)
    return task if task is not None and task.project_id == project_id else None
