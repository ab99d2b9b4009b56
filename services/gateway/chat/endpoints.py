from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from services.gateway.chat import service
from services.gateway.chat.schemas import ChatRequest
from services.gateway.deps import CurrentGateway, CurrentProject
from shared.http import JSONBytes, ok

router = APIRouter()


@router.post("/chat", response_model=None)
async def chat(
    body: ChatRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes | StreamingResponse:
    """`query` answered by the configured LLM with the user's memories, preferences (and tool
    memories on request) and the conversation's latest turns: `response` whole, or with
    `stream` server-sent events (`reference`, `text`…, `end` or `error`). The exchange is
    stored as messages of the conversation once answered (`add_message_on_answer`). 50007
    when the service has no LLM."""
    if not body.stream:
        return ok(await run_in_threadpool(service.answer, gateway, project.project_id, body))
    messages, found = await run_in_threadpool(service.prompt, gateway, project.project_id, body)
    return StreamingResponse(
        service.stream(gateway, project.project_id, body, messages, found),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
