from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db.models import Message, Task


def task_messages(session: Session, task_id: str) -> list[Message]:
    return list(
        session.scalars(select(Message).where(Message.task_id == task_id).order_by(Message.seq))
    )


def lock_task(session: Session, task_id: str) -> Task | None:
    return session.scalar(select(Task).where(Task.id == task_id).with_for_update())
