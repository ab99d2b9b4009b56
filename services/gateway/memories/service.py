"""Reading, deleting and searching memories on behalf of one project."""

import math
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from services.extractor.consolidation import initial_type
from services.extractor.schemas import ExtractedMemory, Turn
from services.extractor.service import extract
from services.gateway.memories.schemas import (
    DeleteMemoryRequest,
    ExtractMemoryRequest,
    GetMemoryRequest,
    UpdateMemoryRequest,
)
from services.gateway.memories.search_client import Retriever
from shared.clock import now_ms
from shared.db.models import Job, Memory
from shared.db.session import Database
from shared.erasure import Erased, erase_user_rows
from shared.errors import InputTooLarge, InvalidParameter, MemoryNotFound, echo
from shared.filters import parse_filter, scoped
from shared.llm import Llm
from shared.memories import (
    copy_of,
    delete_by_ids,
    history,
    hold_off_deletes,
    load_memories,
    lock_out_jobs,
    matching_ids,
    owners,
    page_memories,
    record_deletion,
    to_item,
    with_history,
)
from shared.outbox import publish
from shared.profiles import user_profiles
from shared.queue import JobQueue
from shared.schemas import SearchMemoryRequest
from shared.vector_store import PREFERENCES, TOOLS
from shared.webhooks import deleted_event, emit, memory_event


def _with_history(session: Session, rows: list[Memory]) -> list[dict[str, Any]]:
    """The memories as the API shows them, each with the versions it replaced."""
    replaced = history(session, [m.id for m in rows])
    return [
        {
            **to_item(m),
            "history": [
                {
                    "id": old.id,
                    "memory_value": old.memory_value,
                    "create_time": old.create_time,
                    "archived_time": old.update_time,
                }
                for old in replaced.get(m.id, [])
            ],
        }
        for m in rows
    ]


def get_memories(db: Database, project_id: str, request: GetMemoryRequest) -> dict[str, Any]:
    """A page of the user's facts, and the same page of their preferences and tool memories
    when asked for."""
    flt = scoped(parse_filter(request.filter), agent_id=request.agent_id, app_id=request.app_id)

    def page(session: Session, kinds: tuple[str, ...]) -> tuple[list[dict[str, Any]], int]:
        rows, total = page_memories(
            session, project_id, request.user_id, flt, request.page, request.size, kinds
        )
        return _with_history(session, rows), total

    with db.session() as session:
        items, total = page(session, ("fact",))
        preferences = page(session, PREFERENCES)[0] if request.include_preference else None
        tools = page(session, TOOLS)[0] if request.include_tool_memory else None
        profiles = user_profiles(session, project_id, request.user_id)
    return {
        "memory_detail_list": items,
        "preference_detail_list": preferences,
        "tool_memory_detail_list": tools,
        "profile_detail_list": profiles,
        "total": total,
        "size": request.size,
        "current": request.page,
        "pages": math.ceil(total / request.size),
    }


def delete_memories(
    db: Database, retriever: Retriever, project_id: str, request: DeleteMemoryRequest
) -> None:
    """Deletes the memories and the archived versions they replaced, and records the delete
    so that a job accepted before it does not write them again."""
    modes = [bool(request.memory_ids), request.user_id is not None, request.filter is not None]
    if sum(modes) != 1:
        raise InvalidParameter("memory_ids/user_id/filter", "must be exactly one of the three")
    flt = parse_filter(request.filter)
    with db.transaction() as session:
        lock_out_jobs(session, project_id)
        now = now_ms()
        if request.memory_ids:
            users: Sequence[str | None] = request.user_ids or [None]  # None: any user
            ids = [
                i
                for user in users
                for i in matching_ids(session, project_id, user, None, request.memory_ids)
            ]
            if not ids:
                raise MemoryNotFound(f"none of memory_ids {request.memory_ids[:5]} exists")
            ids = with_history(session, ids)
            record_deletion(session, project_id, now, memory_ids=ids)
        elif request.user_id is not None:
            ids = matching_ids(session, project_id, request.user_id, None)
            record_deletion(session, project_id, now, user_id=request.user_id)
        else:
            ids = with_history(session, matching_ids(session, project_id, None, flt))
            record_deletion(session, project_id, now, memory_ids=ids, flt=request.filter)
        emit(session, project_id, lambda: [deleted_event(i, u) for i, u in owners(session, ids)])
        delete_by_ids(session, ids)
    # After the commit: a point left behind by a failure here is skipped at search time.
    retriever.delete(ids)


def erase_user(db: Database, retriever: Retriever, project_id: str, user_id: str) -> Erased:
    """Everything held for the user: raw messages, memories and their history, jobs and dead
    letters in SQL, and the user's points in the index."""
    # First: an index that cannot be reached (or opened: an embedded one a running `memos
    # serve` holds) leaves SQL untouched.
    retriever.delete_user(project_id, user_id)
    with db.transaction() as session:
        lock_out_jobs(session, project_id)
        erased = erase_user_rows(session, project_id, user_id)
    retriever.delete_user(project_id, user_id)  # again: points a job wrote meanwhile
    return erased


def search(
    retriever: Retriever, max_query_chars: int, project_id: str, request: SearchMemoryRequest
) -> dict[str, Any]:
    if max_query_chars and len(request.query) > max_query_chars:
        raise InputTooLarge(
            f"query of {len(request.query)} characters; the limit is {max_query_chars}"
        )
    return retriever.search(project_id, request)


def get_memory(db: Database, project_id: str, memory_id: str) -> dict[str, Any]:
    """One memory of the project by id, with its history (an archived version too)."""
    with db.session() as session:
        memory = load_memories(session, project_id, [memory_id]).get(memory_id)
        if memory is None:
            raise MemoryNotFound(f"memory {echo(memory_id)} does not exist")
        (item,) = _with_history(session, [memory])
    return item


def update_memory(
    db: Database, queue: JobQueue, project_id: str, request: UpdateMemoryRequest
) -> dict[str, Any]:
    """Edits a memory in place (its id stays); a new text or title keeps the version it
    replaces as archived history. The index follows through a job, like an add's: written
    in the same transaction, so a worker re-embeds the memory however the queue fares."""
    now = now_ms()
    with db.transaction() as session:
        hold_off_deletes(session, project_id)
        memory = load_memories(session, project_id, [request.memory_id]).get(request.memory_id)
        if memory is None:
            raise MemoryNotFound(f"memory {echo(request.memory_id)} does not exist")
        if memory.superseded_by is not None:
            raise InvalidParameter(
                "memory_id", f"an earlier version of memory {memory.superseded_by}: update that"
            )
        content = request.content or memory.memory_value
        title = request.title or memory.memory_key
        archiving = request.status == "archived" and memory.status != "archived"
        if (content, title) != (memory.memory_value, memory.memory_key):
            old = copy_of(memory, str(uuid.uuid4()), status="archived", superseded_by=memory.id)
            session.add(old)  # the version replaced, as it was (its update_time: archived)
        memory.memory_value, memory.memory_key = content, title
        memory.status = request.status or memory.status
        memory.update_time = now
        emit(
            session,
            project_id,
            lambda: [memory_event("archived" if archiving else "updated", memory)],
        )
        job = Job(
            id=str(uuid.uuid4()),
            project_id=project_id,
            user_id=memory.user_id,
            conversation_id=memory.conversation_id,
            kind="update",
            status="running",
            attributes={"memory_ids": [memory.id]},
            create_time=now,
            update_time=now,
            dispatch_time=now,
        )
        session.add(job)
        session.flush()
        (item,) = _with_history(session, [memory])
    publish(db, queue, [job.id])  # else the relay sends it
    return {"success": True, "task_id": job.id, "memory": item}


def extract_memories(llm: Llm | None, request: ExtractMemoryRequest) -> dict[str, Any]:
    """What extraction would make of the messages, stored nowhere: facts, and preferences and
    tool memories apart."""
    turns = [
        Turn(
            f"m{i}",
            m.role,
            m.content,
            m.chat_time,
            [c.model_dump() for c in m.tool_calls] if m.tool_calls else None,
            m.tool_call_id,
        )
        for i, m in enumerate(request.messages)
    ]
    extracted = extract(turns, llm)

    def shown(m: ExtractedMemory) -> dict[str, Any]:
        return {
            "memory_key": m.key,
            "memory_value": m.value,
            "memory_type": initial_type(m.value, m.speaker, m.kind),
            "memory_time": m.memory_time,
            "confidence": m.confidence,
            "tags": m.tags,
            "speaker": m.speaker,
            # Positions in `messages` of the turns the memory comes from.
            "sources": [int(source[1:]) for source in m.source_ids],
        }

    return {
        "memory_detail_list": [shown(m) for m in extracted if m.kind == "fact"],
        "preference_detail_list": [
            {**shown(m), "preference_type": m.kind, "preference": m.value}
            for m in extracted
            if m.kind in PREFERENCES
        ],
        "tool_memory_detail_list": [shown(m) for m in extracted if m.kind in TOOLS],
    }
