"""Memory rows in SQL: queries, the filter compiled to SQL, and the API's item shape."""

from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.orm import Session

from shared.db.models import Memory, MemorySource, MemoryTag
from shared.filters import Condition, MemoryFilter


def _condition_to_sql(cond: Condition) -> ColumnElement[bool]:
    if cond.field == "tags":
        return Memory.id.in_(select(MemoryTag.memory_id).where(MemoryTag.tag == cond.value))
    if cond.field.startswith("info."):
        element = Memory.info[cond.field[5:]]
        value = cond.value
        if isinstance(value, bool):
            return element.as_boolean() == value
        if isinstance(value, int):
            return element.as_integer() == value
        if isinstance(value, float):
            return element.as_float() == value
        return element.as_string() == value
    column = getattr(Memory, cond.field)
    return {
        "eq": column.__eq__, "gt": column.__gt__, "gte": column.__ge__,
        "lt": column.__lt__, "lte": column.__le__,
    }[cond.op](cond.value)


def filter_to_sql(flt: MemoryFilter) -> ColumnElement[bool]:
    clauses = [_condition_to_sql(c) for c in flt.conditions]
    return and_(*clauses) if flt.mode == "and" else or_(*clauses)


def _scope(project_id: str, user_id: str | None, flt: MemoryFilter | None) -> list[Any]:
    clauses: list[Any] = [Memory.project_id == project_id]
    if user_id is not None:
        clauses.append(Memory.user_id == user_id)
    if flt is not None:
        clauses.append(filter_to_sql(flt))
    return clauses


def page_memories(session: Session, project_id: str, user_id: str, flt: MemoryFilter | None,
                  page: int, size: int) -> tuple[list[Memory], int]:
    scope = _scope(project_id, user_id, flt)
    total = session.scalar(select(func.count()).select_from(Memory).where(*scope)) or 0
    rows = session.scalars(select(Memory).where(*scope)
                           .order_by(Memory.create_time.desc(), Memory.id)
                           .offset((page - 1) * size).limit(size))
    return list(rows), total


def history(session: Session, ids: list[str]) -> dict[str, list[Memory]]:
    """For each memory, the archived memories it replaced, oldest first."""
    found: dict[str, list[Memory]] = {}
    if ids:
        for old in session.scalars(select(Memory).where(Memory.superseded_by.in_(ids))
                                   .order_by(Memory.create_time)):
            found.setdefault(old.superseded_by, []).append(old)
    return found


def load_memories(session: Session, project_id: str, ids: list[str]) -> dict[str, Memory]:
    if not ids:
        return {}
    # By primary key alone: with the project in the WHERE clause SQLite picks the
    # (project, user, time) index and scans the project's rows (24 ms at 100k).
    rows = session.scalars(select(Memory).where(Memory.id.in_(ids)))
    return {m.id: m for m in rows if m.project_id == project_id}


def matching_ids(session: Session, project_id: str, user_id: str | None,
                 flt: MemoryFilter | None, ids: list[str] | None = None) -> list[str]:
    scope = _scope(project_id, user_id, flt)
    if ids is not None:
        scope.append(Memory.id.in_(ids))
    return list(session.scalars(select(Memory.id).where(*scope)))


def delete_by_ids(session: Session, ids: list[str]) -> None:
    # Explicit child deletes: SQLite enforces ON DELETE CASCADE only with foreign_keys on.
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        session.execute(delete(MemorySource).where(MemorySource.memory_id.in_(chunk)))
        session.execute(delete(MemoryTag).where(MemoryTag.memory_id.in_(chunk)))
        session.execute(delete(Memory).where(Memory.id.in_(chunk)))


def to_item(memory: Memory, relativity: float | None = None) -> dict[str, Any]:
    item = {
        "id": memory.id,
        "memory_key": memory.memory_key,
        "memory_value": memory.memory_value,
        "memory_type": memory.memory_type,
        "memory_time": memory.memory_time,
        "conversation_id": memory.conversation_id,
        "status": memory.status,
        "confidence": memory.confidence,
        "tags": memory.tags,
        "info": memory.info,
        "agent_id": memory.agent_id,
        "app_id": memory.app_id,
        "create_time": memory.create_time,
        "update_time": memory.update_time,
        "superseded_by": memory.superseded_by,
        "sources": [
            {"id": s.message.id, "role": s.message.role, "content": s.message.content,
             "chat_time": s.message.chat_time, "create_time": s.message.create_time}
            for s in memory.sources
        ],
    }
    if relativity is not None:
        item["relativity"] = relativity
    return item
