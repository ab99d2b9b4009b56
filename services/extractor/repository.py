from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db.models import Memory, MemorySource, Message, Task


def task_messages(session: Session, task_id: str) -> list[Message]:
    return list(
        session.scalars(select(Message).where(Message.task_id == task_id).order_by(Message.seq))
    )


def task_memory_ids(session: Session, task_id: str) -> list[str]:
    return list(session.scalars(select(Memory.id).where(Memory.task_id == task_id)))


def lock_task(session: Session, task_id: str) -> Task | None:
    return session.scalar(select(Task).where(Task.id == task_id).with_for_update())


def memories_superseded_by(session: Session, ids: list[str]) -> list[Memory]:
    if not ids:
        return []
    return list(session.scalars(select(Memory).where(Memory.superseded_by.in_(ids))))


def sources_merged_elsewhere(session: Session, task_id: str) -> list[MemorySource]:
    """Sources this job added to memories of other jobs (its duplicates, merged there)."""
    return list(
        session.scalars(
            select(MemorySource)
            .join(Message, Message.id == MemorySource.message_id)
            .join(Memory, Memory.id == MemorySource.memory_id)
            .where(Message.task_id == task_id, Memory.task_id != task_id)
        )
    )
