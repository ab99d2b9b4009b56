import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header

from services.gateway.deps import CurrentGateway, CurrentProject, Gateway
from services.gateway.messages import service
from services.gateway.messages.schemas import (
    AddFeedbackRequest,
    AddMessageRequest,
    ChatMessage,
    GetMessageRequest,
    GetStatusRequest,
)
from shared.db.models import Message
from shared.http import JSONBytes, ok
from shared.memories import knowledgebases

router = APIRouter()
# A client's name for one add: the same key sent again is a retry, whatever the time.
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


async def _add(
    gateway: Gateway,
    project_id: str,
    request: AddMessageRequest,
    kind: str,
    idempotency_key: str | None,
) -> JSONBytes:
    if request.allow_knowledgebase_ids:
        await asyncio.to_thread(
            knowledgebases,
            gateway.runtime.db,
            project_id,
            request.allow_knowledgebase_ids,
            "allow_knowledgebase_ids",
        )
    accepted = await asyncio.wrap_future(
        gateway.ingest.submit(project_id, request, kind, idempotency_key)
    )
    task_id, status = accepted.task_id, accepted.status
    if not request.async_mode and status == "running":
        status = await gateway.waiter.wait(task_id, gateway.runtime.settings.sync_add_timeout)
    return ok({"success": status != "failed", "task_id": task_id, "status": status})


def _clock(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _message_data(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "chat_time": message.chat_time,
        "create_time": message.create_time,
        "update_time": message.create_time,
        "createTime": _clock(message.create_time),
        "updateTime": _clock(message.create_time),
    }
    if message.tool_calls is not None:
        data["tool_calls"] = message.tool_calls
    if message.tool_call_id is not None:
        data["tool_call_id"] = message.tool_call_id
    return data


@router.post("/add/message")
async def add_message(
    body: AddMessageRequest,
    project: CurrentProject,
    gateway: CurrentGateway,
    idempotency_key: IdempotencyKey = None,
) -> JSONBytes:
    """Store raw dialogue; memories are extracted from it asynchronously. The messages are
    committed before the answer. A retry creates nothing twice: the same Idempotency-Key, or
    without one the same request within ADD_RETRY_WINDOW seconds (messages with chat_time:
    whenever re-sent)."""
    return await _add(gateway, project.project_id, body, "add", idempotency_key)


@router.post("/add/feedback")
async def add_feedback(
    body: AddFeedbackRequest,
    project: CurrentProject,
    gateway: CurrentGateway,
    idempotency_key: IdempotencyKey = None,
) -> JSONBytes:
    """A user's feedback on the conversation, stored and extracted like a user message."""
    request = AddMessageRequest(
        user_id=body.user_id,
        conversation_id=body.conversation_id,
        messages=[ChatMessage(role="user", content=body.feedback_content)],
        agent_id=body.agent_id,
        app_id=body.app_id,
        allow_public=body.allow_public,
        allow_knowledgebase_ids=body.allow_knowledgebase_ids,
    )
    return await _add(gateway, project.project_id, request, "feedback", idempotency_key)


@router.post("/get/message")
def get_message(
    body: GetMessageRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """The raw messages of a conversation, in conversation order (the last
    `message_limit_number` when given)."""
    messages = service.get_messages(
        gateway.runtime.db,
        project.project_id,
        body.user_id,
        body.conversation_id,
        body.message_limit_number,
    )
    return ok({"message_detail_list": [_message_data(m) for m in messages]})


@router.post("/get/status")
def get_status(
    body: GetStatusRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """Where an extraction job is: running, completed or failed."""
    job = service.get_job(gateway.runtime.db, project.project_id, body.task_id)
    return ok({"task_id": job.id, "status": job.status})
