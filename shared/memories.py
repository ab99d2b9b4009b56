"""Memory rows in SQL: queries, the filter compiled to SQL, the API's item shape, and the
record of deletions that keeps a late job from bringing deleted memories back."""

from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, delete, func, inspect, or_, select, text
from sqlalchemy.orm import Session, joinedload

from shared.db.info_match import info_equals
from shared.db.models import Deletion, Job, KnowledgeBase, Memory, MemorySource, MemoryTag
from shared.db.session import Database
from shared.errors import InvalidParameter, echo
from shared.filters import Condition, MemoryFilter, parse_filter
from shared.vector_store import PREFERENCES, PUBLIC, knowledgebase_of

# Deletes take this lock alone per project, jobs' final writes share it: a delete waits for
# the final writes in progress and a final write for the delete, so neither misses the
# other's rows. PostgreSQL only: SQLite has one writer at a time.
DELETE_LOCK = 7_262_612


def _condition_to_sql(cond: Condition) -> ColumnElement[bool]:
    if cond.field == "tags":
        return Memory.id.in_(select(MemoryTag.memory_id).where(MemoryTag.tag == cond.value))
    if cond.info_key is not None:
        return info_equals(Memory.info, cond.info_key, cond.value)
    column = getattr(Memory, cond.field)
    compared: ColumnElement[bool] = {
        "eq": column.__eq__,
        "gt": column.__gt__,
        "gte": column.__ge__,
        "lt": column.__lt__,
        "lte": column.__le__,
    }[cond.op](cond.value)
    return compared


def filter_to_sql(flt: MemoryFilter) -> ColumnElement[bool]:
    clauses = [_condition_to_sql(c) for c in flt.conditions]
    scope = [getattr(Memory, c.field).in_(c.value) for c in flt.scope]
    if not clauses:
        return and_(*scope)
    return and_(and_(*clauses) if flt.mode == "and" else or_(*clauses), *scope)


def _scope(project_id: str, user_id: str | None, flt: MemoryFilter | None) -> list[Any]:
    clauses: list[Any] = [Memory.project_id == project_id]
    if user_id is not None:
        clauses.append(Memory.user_id == user_id)
    if flt is not None:
        clauses.append(filter_to_sql(flt))
    return clauses


def page_memories(
    session: Session,
    project_id: str,
    user_id: str,
    flt: MemoryFilter | None,
    page: int,
    size: int,
    kinds: tuple[str, ...] = ("fact",),
) -> tuple[list[Memory], int]:
    scope = [*_scope(project_id, user_id, flt), Memory.kind.in_(kinds)]
    total = session.scalar(select(func.count()).select_from(Memory).where(*scope)) or 0
    rows = session.scalars(
        select(Memory)
        .where(*scope)
        .order_by(Memory.create_time.desc(), Memory.id)
        .offset((page - 1) * size)
        .limit(size)
    )
    return list(rows), total


def history(session: Session, ids: list[str]) -> dict[str, list[Memory]]:
    """For each memory, the archived memories it replaced, oldest first."""
    found: dict[str, list[Memory]] = {}
    if ids:
        for old in session.scalars(
            select(Memory).where(Memory.superseded_by.in_(ids)).order_by(Memory.create_time)
        ):
            if old.superseded_by is not None:  # always, by the WHERE clause
                found.setdefault(old.superseded_by, []).append(old)
    return found


def load_memories(session: Session, project_id: str, ids: list[str]) -> dict[str, Memory]:
    if not ids:
        return {}
    # By primary key alone: with the project in the WHERE clause SQLite picks the
    # (project, user, time) index and scans the project's rows (24 ms at 100k). The sources
    # joined in the same statement, not a second SELECT: 2.3 ms for a search's 14 rows where
    # the two statements took 2.8 (SQLite, 100k memories), and one round trip to PostgreSQL.
    rows = session.scalars(
        select(Memory).where(Memory.id.in_(ids)).options(joinedload(Memory.sources))
    ).unique()
    return {m.id: m for m in rows if m.project_id == project_id}


def matching_ids(
    session: Session,
    project_id: str,
    user_id: str | None,
    flt: MemoryFilter | None,
    ids: list[str] | None = None,
) -> list[str]:
    scope = _scope(project_id, user_id, flt)
    if ids is not None:
        scope.append(Memory.id.in_(ids))
    return list(session.scalars(select(Memory.id).where(*scope)))


def with_history(session: Session, ids: list[str]) -> list[str]:
    """The memories and every archived memory they replaced, however far back: a deleted
    fact does not live on in its older versions."""
    found = list(dict.fromkeys(ids))
    seen, frontier = set(found), found
    while frontier:
        older = [
            old
            for start in range(0, len(frontier), 500)
            for old in session.scalars(
                select(Memory.id).where(Memory.superseded_by.in_(frontier[start : start + 500]))
            )
        ]
        frontier = [old for old in dict.fromkeys(older) if old not in seen]
        seen.update(frontier)
        found += frontier
    return found


def owners(session: Session, ids: list[str]) -> list[tuple[str, str]]:
    """(memory id, its user) of each of `ids` that exists."""
    found: list[tuple[str, str]] = []
    for start in range(0, len(ids), 500):
        found += [
            (i, u)
            for i, u in session.execute(
                select(Memory.id, Memory.user_id).where(Memory.id.in_(ids[start : start + 500]))
            )
        ]
    return found


def delete_by_ids(session: Session, ids: list[str]) -> None:
    # Explicit child deletes: SQLite enforces ON DELETE CASCADE only with foreign_keys on.
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        session.execute(delete(MemorySource).where(MemorySource.memory_id.in_(chunk)))
        session.execute(delete(MemoryTag).where(MemoryTag.memory_id.in_(chunk)))
        session.execute(delete(Memory).where(Memory.id.in_(chunk)))


def copy_of(memory: Memory, memory_id: str, **changes: Any) -> Memory:
    """A new memory row with `memory`'s fields, sources and tags, `changes` applied."""
    fields = {a.key: getattr(memory, a.key) for a in inspect(Memory).column_attrs}
    fields |= {"tags": list(memory.tags), "info": dict(memory.info)}
    copy = Memory(**(fields | changes | {"id": memory_id}))
    copy.sources = [
        MemorySource(memory_id=memory_id, message_id=s.message_id, position=s.position)
        for s in memory.sources
    ]
    copy.tag_rows = [MemoryTag(memory_id=memory_id, tag=tag) for tag in copy.tags]
    return copy


def knowledgebases(db: Database, project_id: str, named: list[str] | None, field: str) -> list[str]:
    """The knowledge bases `named`, each one the project's (else 40000 naming `field`), or
    all the project's when none are named."""
    with db.session() as session:
        known = set(
            session.scalars(select(KnowledgeBase.id).where(KnowledgeBase.project_id == project_id))
        )
    unknown = [k for k in named or [] if k not in known]
    if unknown:
        raise InvalidParameter(field, f"{echo(unknown[0])}: no such knowledge base here")
    return list(named) if named else sorted(known)


def _found_as(memory: Memory, viewer: str) -> str:
    """Why a search for `viewer` found the memory: it is the user's own, or in the project's
    public memory, or in a knowledge base searched."""
    if memory.user_id == viewer:
        return "user"
    return "public" if PUBLIC in memory.shared_with else "knowledgebase"


def to_item(
    memory: Memory, relativity: float | None = None, viewer: str | None = None
) -> dict[str, Any]:
    """The API's memory item; for a search by `viewer`, a memory another user shared shows
    why it was found (`scope`) and not the messages it came from."""
    knowledgebase = knowledgebase_of(memory.user_id)
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
            {
                "id": s.message.id,
                "role": s.message.role,
                "content": s.message.content,
                "chat_time": s.message.chat_time,
                "create_time": s.message.create_time,
            }
            for s in memory.sources
        ],
    }
    item["public"] = PUBLIC in memory.shared_with
    item["knowledgebase_ids"] = (
        [knowledgebase]
        if knowledgebase
        else [k for k in map(knowledgebase_of, memory.shared_with) if k]
    )
    if viewer is not None:
        item["scope"] = _found_as(memory, viewer)
        if item["scope"] != "user":
            item["sources"] = []
    if memory.kind in PREFERENCES:  # the fields MemOS clients read of a preference
        item |= {"preference_type": memory.kind, "preference": memory.memory_value}
    if relativity is not None:
        item["relativity"] = relativity
    return item


def _delete_lock(session: Session, project_id: str, function: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(f"SELECT {function}(:lock, hashtext(:project))"),
            {"lock": DELETE_LOCK, "project": project_id},
        )


def hold_off_deletes(session: Session, project_id: str) -> None:
    """For a job's final write: no delete of the project runs until it commits."""
    _delete_lock(session, project_id, "pg_advisory_xact_lock_shared")


def lock_out_jobs(session: Session, project_id: str) -> None:
    """For a delete: waits for the final writes in progress and holds off new ones."""
    _delete_lock(session, project_id, "pg_advisory_xact_lock")


def record_deletion(
    session: Session,
    project_id: str,
    now: int,
    *,
    user_id: str | None = None,
    memory_ids: list[str] | None = None,
    flt: dict[str, Any] | None = None,
) -> None:
    session.add(
        Deletion(
            project_id=project_id,
            user_id=user_id,
            memory_ids=memory_ids,
            filter=flt,
            delete_time=now,
        )
    )


def _condition_holds(cond: Condition, memory: Memory, accepted: int) -> bool:
    if cond.field == "tags":
        return cond.value in (memory.tags or [])
    if cond.info_key is not None:  # as info_equals matches in SQL
        value = (memory.info or {}).get(cond.info_key)
        if isinstance(value, bool) or isinstance(cond.value, bool):
            return value is cond.value
        return bool(value == cond.value)  # JSON values compare to a bool
    if cond.field in ("create_time", "update_time"):
        # The memory stands as if its job had finished when it was accepted: a delete of
        # "everything before T" issued while the job waited covers it.
        return {
            "gt": accepted.__gt__,
            "gte": accepted.__ge__,
            "lt": accepted.__lt__,
            "lte": accepted.__le__,
        }[cond.op](cond.value)
    return bool(getattr(memory, cond.field) == cond.value)  # a column's str compares to a bool


def deletion_covers(deletion: Deletion, memory: Memory, accepted: int) -> bool:
    if deletion.memory_ids and memory.id in deletion.memory_ids:
        return True
    if deletion.user_id is not None and memory.user_id == deletion.user_id:
        return True
    if deletion.filter is None:
        return False
    flt = parse_filter(deletion.filter)
    held = [_condition_holds(c, memory, accepted) for c in flt.conditions]
    return all(held) if flt.mode == "and" else any(held)


def deleted_before_written(
    session: Session, project_id: str, accepted: int, memories: list[Memory]
) -> set[str]:
    """Ids of the memories, about to be written by a job accepted at `accepted`, that a
    delete made since covers: a job does not bring back what was deleted after it came."""
    if not memories:
        return set()
    deletions = list(
        session.scalars(
            select(Deletion).where(
                Deletion.project_id == project_id, Deletion.delete_time >= accepted
            )
        )
    )
    return {m.id for m in memories if any(deletion_covers(d, m, accepted) for d in deletions)}


def forget_spent_deletions(session: Session) -> int:
    """Deletions older than every unfinished job (running, or failed and replayable) can
    cover nothing any more; returns how many were dropped."""
    oldest = session.scalar(
        select(func.min(Job.create_time)).where(Job.status.in_(("running", "failed")))
    )
    spent = delete(Deletion)
    if oldest is not None:
        spent = spent.where(Deletion.delete_time < oldest)
    # A DELETE's result is a CursorResult; Session.execute is typed as the general Result.
    return cast(CursorResult[Any], session.execute(spent)).rowcount or 0
