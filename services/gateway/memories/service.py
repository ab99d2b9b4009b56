"""Reading, deleting and searching memories on behalf of one project."""

import math
from functools import lru_cache

from services.gateway.memories.search_client import RetrieverClient
from shared.config import get_settings
from shared.db.session import new_session, transaction
from shared.errors import InputTooLarge, InvalidParameter, MemoryNotFound
from shared.filters import parse_filter
from shared.memories import delete_by_ids, history, matching_ids, page_memories, to_item
from shared.schemas import DeleteMemoryRequest, GetMemoryRequest, SearchMemoryRequest
from shared.vector_store import get_memory_index


def get_memories(project_id: str, request: GetMemoryRequest) -> dict:
    flt = parse_filter(request.filter)
    with new_session() as session:
        rows, total = page_memories(session, project_id, request.user_id, flt, request.page,
                                    request.size)
        replaced = history(session, [m.id for m in rows])
        items = [{**to_item(m), "history": [
            {"id": old.id, "memory_value": old.memory_value, "create_time": old.create_time,
             "archived_time": old.update_time} for old in replaced.get(m.id, [])]}
            for m in rows]
    return {"memory_detail_list": items, "total": total, "size": request.size,
            "current": request.page, "pages": math.ceil(total / request.size)}


def delete_memories(project_id: str, request: DeleteMemoryRequest) -> None:
    modes = [bool(request.memory_ids), request.user_id is not None, request.filter is not None]
    if sum(modes) != 1:
        raise InvalidParameter("memory_ids/user_id/filter", "must be exactly one of the three")
    with transaction() as session:
        if request.memory_ids:
            users = request.user_ids or [None]
            ids = [i for user in users
                   for i in matching_ids(session, project_id, user, None, request.memory_ids)]
            if not ids:
                raise MemoryNotFound(f"none of memory_ids {request.memory_ids[:5]} exists")
        else:
            ids = matching_ids(session, project_id, request.user_id, parse_filter(request.filter))
        delete_by_ids(session, ids)
    # After the commit: a point left behind by a failure here is skipped at search time.
    get_memory_index().delete(ids)


@lru_cache
def _retriever() -> RetrieverClient | None:
    settings = get_settings()
    return RetrieverClient(settings) if settings.retriever_url else None


def search(project_id: str, request: SearchMemoryRequest) -> dict:
    limit = get_settings().max_query_chars
    if limit and len(request.query) > limit:
        raise InputTooLarge(f"query of {len(request.query)} characters; the limit is {limit}")
    client = _retriever()
    if client is not None:
        return client.search(project_id, request)
    from services.retriever.service import search_memories

    return search_memories(project_id, request)
