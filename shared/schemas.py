"""Request and response models of the openmem v1 API (the edges of the service)."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Role = Literal["user", "assistant", "system", "tool"]
Scalar = str | int | float | bool


class Request(BaseModel):
    """Clients send every optional field, as null when unset: null means absent, and fields
    this service does not implement are ignored."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


UserId = Field(min_length=1, max_length=100)
MAX_COUNT = 2**31 - 1  # counts and pages past this would overflow SQL's LIMIT and OFFSET
ConversationId = Field(min_length=1, max_length=100)


class ChatMessage(Request):
    role: Role
    content: str = Field(min_length=1)
    chat_time: str | None = None


class AddMessageRequest(Request):
    user_id: str = UserId
    conversation_id: str = ConversationId
    messages: list[ChatMessage] = Field(min_length=1)
    agent_id: str | None = Field(None, max_length=100)
    app_id: str | None = Field(None, max_length=100)
    tags: list[str] | None = None
    info: dict[str, Scalar] | None = None
    async_mode: bool = True

    @model_validator(mode="before")
    @classmethod
    def _legacy_async_mode(cls, data: Any) -> Any:
        if isinstance(data, dict) and "asyncMode" in data and data.get("async_mode") is None:
            data = {**data, "async_mode": data["asyncMode"]}
        return data


class AddFeedbackRequest(Request):
    user_id: str = UserId
    conversation_id: str = ConversationId
    feedback_content: str = Field(min_length=1)
    agent_id: str | None = Field(None, max_length=100)
    app_id: str | None = Field(None, max_length=100)


class SearchMemoryRequest(Request):
    query: str = Field(min_length=1)
    user_id: str = UserId
    conversation_id: str | None = Field(None, max_length=100)
    memory_limit_number: int = Field(6, ge=1, le=25)
    relativity: float | None = Field(None, ge=0, le=1)
    filter: dict[str, Any] | None = None
    return_matches: bool = True
    return_instruction: bool = False
    return_full_instruction: bool = False


class GetMessageRequest(Request):
    user_id: str = UserId
    conversation_id: str = ConversationId
    message_limit_number: int | None = Field(None, ge=1, le=MAX_COUNT)


class GetMemoryRequest(Request):
    user_id: str = UserId
    page: int = Field(1, ge=1, le=MAX_COUNT)
    size: int = Field(10, ge=1, le=50)
    filter: dict[str, Any] | None = None


class DeleteMemoryRequest(Request):
    memory_ids: list[str] | None = None
    user_id: str | None = Field(None, min_length=1, max_length=100)
    filter: dict[str, Any] | None = None
    # Legacy shape: {user_ids, memory_ids}.
    user_ids: list[str] | None = None


class GetStatusRequest(Request):
    task_id: str = Field(min_length=1)


class SearchQuery(BaseModel):
    """What the gateway asks the retriever: the request plus the authenticated project."""

    project_id: str
    request: SearchMemoryRequest
