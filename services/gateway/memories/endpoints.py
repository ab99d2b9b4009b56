from fastapi import APIRouter

from services.gateway.deps import CurrentGateway, CurrentProject
from services.gateway.memories import service
from services.gateway.memories.schemas import (
    DeleteMemoryRequest,
    DeleteUserRequest,
    ExtractMemoryRequest,
    GetMemoryRequest,
    UpdateMemoryRequest,
)
from services.gateway.messages.ingest import check_limits
from shared.errors import InputTooLarge
from shared.http import JSONBytes, ok
from shared.schemas import RerankRequest, SearchMemoryRequest

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


@router.get("/get/memory/{memory_id}")
def get_memory_by_id(memory_id: str, project: CurrentProject, gateway: CurrentGateway) -> JSONBytes:
    """One memory by id, archived ones too, with its sources and the versions it replaced."""
    return ok(service.get_memory(gateway.runtime.db, project.project_id, memory_id))


@router.post("/update/memory")
def update_memory(
    body: UpdateMemoryRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """Change a memory's `content`, `title` or `status` (activated / archived). Its id stays;
    an edited text keeps the version it replaces in `history`, and is embedded and indexed
    again by a job (`task_id`, its status at `/get/status`)."""
    runtime = gateway.runtime
    return ok(service.update_memory(runtime.db, runtime.queue, project.project_id, body))


@router.post("/extract/memory")
def extract_memory(
    body: ExtractMemoryRequest, gateway: CurrentGateway, _: CurrentProject
) -> JSONBytes:
    """The memories extraction would make of `messages` (rules, or the configured LLM),
    stored nowhere: each with the positions in `messages` of the turns it comes from."""
    settings = gateway.runtime.settings
    check_limits(body.messages, settings.max_messages_per_add, settings.max_message_chars)
    return ok(service.extract_memories(gateway.runtime.llm, body))


@router.post("/rerank")
def rerank(body: RerankRequest, gateway: CurrentGateway, _: CurrentProject) -> JSONBytes:
    """`documents` ordered by relevance to `query`, by the model search ranks memories with:
    `results` of `index` (in `documents`), `document` and `relevance_score` in [0, 1], the
    first `top_n`."""
    settings = gateway.runtime.settings
    if len(body.documents) > settings.max_rerank_documents:
        raise InputTooLarge(
            f"{len(body.documents)} documents; the limit is {settings.max_rerank_documents}"
        )
    longest = max(len(d) for d in body.documents)
    if longest > settings.max_message_chars or len(body.query) > settings.max_query_chars:
        raise InputTooLarge(
            f"a query over {settings.max_query_chars} or a document over "
            f"{settings.max_message_chars} characters"
        )
    return ok(gateway.retriever.rerank(body))


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
