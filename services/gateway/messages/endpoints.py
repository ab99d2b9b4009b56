from datetime import UTC, datetime

from fastapi import APIRouter

from services.gateway.deps import CurrentProject
from services.gateway.messages import service
from shared.db.models import Message, Task
from shared.http import ok
from shared.schemas import (
    AddFeedbackRequest,
    AddMessageRequest,
    ChatMessage,
    GetMessageRequest,
    GetStatusRequest,
)

router = APIRouter()


def _task_data(task: Task) -> dict:
    return {"success": task.status != "failed", "task_id": task.id, "status": task.status}


def _clock(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _message_data(message: Message) -> dict:
    return {"id": message.id, "role": message.role, "content": message.content,
            "chat_time": message.chat_time, "create_time": message.create_time,
            "update_time": message.create_time, "createTime": _clock(message.create_time),
            "updateTime": _clock(message.create_time)}


@router.post("/add/message")
def add_message(body: AddMessageRequest, project: CurrentProject) -> dict:
    """Store raw dialogue; memories are extracted from it asynchronously. The messages are
    committed before the answer; the same request sent again creates nothing twice."""
    return ok(_task_data(service.add_messages(project.project_id, body)))


@router.post("/add/feedback")
def add_feedback(body: AddFeedbackRequest, project: CurrentProject) -> dict:
    """A user's feedback on the conversation, stored and extracted like a user message."""
    request = AddMessageRequest(user_id=body.user_id, conversation_id=body.conversation_id,
                                messages=[ChatMessage(role="user", content=body.feedback_content)],
                                agent_id=body.agent_id, app_id=body.app_id)
    return ok(_task_data(service.add_messages(project.project_id, request, kind="feedback")))


@router.post("/get/message")
def get_message(body: GetMessageRequest, project: CurrentProject) -> dict:
    """The raw messages of a conversation, in conversation order (the last
    `message_limit_number` when given)."""
    messages = service.get_messages(project.project_id, body.user_id, body.conversation_id,
                                    body.message_limit_number)
    return ok({"message_detail_list": [_message_data(m) for m in messages]})


@router.post("/get/status")
def get_status(body: GetStatusRequest, project: CurrentProject) -> dict:
    """Where an extraction job is: running, completed or failed."""
    task = service.get_task(project.project_id, body.task_id)
    return ok({"task_id": task.id, "status": task.status})
