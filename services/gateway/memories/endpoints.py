from fastapi import APIRouter

from services.gateway.deps import CurrentGateway, CurrentProject
from services.gateway.memories import service
from services.gateway.memories.schemas import (
    DeleteMemoryRequest,
    DeleteUserRequest,
    GetMemoryRequest,
)
from shared.http import JSONBytes, ok
from shared.schemas import SearchMemoryRequest

router = APIRouter()


@router.post("/search/memory")
def search_memory(
    body: SearchMemoryRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """The user's activated memories most relevant to `query`, scored by `relativity` in
    [0, 1] (memories of `conversation_id` rank higher), and optionally an `instruction` and a
    `full_instruction` built from them."""
    limit = gateway.runtime.settings.max_query_chars
    return ok(service.search(gateway.retriever, limit, project.project_id, body))


@router.post("/get/memory")
def get_memory(
    body: GetMemoryRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """A page of the user's memories, newest first, each with its source messages."""
    return ok(service.get_memories(gateway.runtime.db, project.project_id, body))


@router.post("/delete/memory")
def delete_memory(
    body: DeleteMemoryRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """Delete memories by `memory_ids`, all of a `user_id`'s, or those matching `filter`,
    with the archived versions they replaced. A job accepted before the delete and finishing
    after it does not bring them back."""
    service.delete_memories(gateway.runtime.db, gateway.retriever, project.project_id, body)
    return ok({"success": True})


@router.post("/delete/user")
def delete_user(
    body: DeleteUserRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """Erase everything held for `user_id` in this project: raw messages, memories and their
    history, jobs (running ones then write nothing), dead letters, and index points."""
    erased = service.erase_user(
        gateway.runtime.db, gateway.retriever, project.project_id, body.user_id
    )
    return ok(
        {
            "success": True,
            "messages": erased.messages,
            "memories": erased.memories,
            "jobs": erased.jobs,
        }
    )
