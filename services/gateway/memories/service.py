"""Reading, deleting and searching memories on behalf of one project."""

import math
from collections.abc import Sequence
from typing import Any

from services.gateway.memories.schemas import DeleteMemoryRequest, GetMemoryRequest
from services.gateway.memories.search_client import Retriever
from shared.clock import now_ms
from shared.db.session import Database
from shared.erasure import Erased, erase_user_rows
from shared.errors import InputTooLarge, InvalidParameter, MemoryNotFound
from shared.filters import parse_filter
from shared.memories import (
    delete_by_ids,
    history,
    lock_out_jobs,
    matching_ids,
    page_memories,
    record_deletion,
    to_item,
    with_history,
)
from shared.schemas import SearchMemoryRequest


def get_memories(db: Database, project_id: str, request: GetMemoryRequest) -> dict[str, Any]:
    flt = parse_filter(request.filter)
    with db.session() as session:
        rows, total = page_memories(
            session, project_id, request.user_id, flt, request.page, request.size
        )
        replaced = history(session, [m.id for m in rows])
        items = [
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
    return {
        "memory_detail_list": items,
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
