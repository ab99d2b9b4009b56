"""Request models of the messages endpoints: adds, feedback, history and a job's status."""

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shared.clock import read_chat_time
from shared.schemas import MAX_COUNT, ApiRequest, UserId

Role = Literal["user", "assistant", "system", "tool"]
Scalar = str | int | float | bool
ConversationId = Field(min_length=1, max_length=100)


def _storable(value: str) -> str:
    """PostgreSQL refuses NUL in text, and no store takes a lone surrogate (which is not
    UTF-8). Refused at the edge, a bad add never reaches the transaction it shares with other
    projects' adds."""
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "contains a NUL character (\\u0000)")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise PydanticCustomError("surrogate", "contains a lone surrogate") from None
    return value


StorableText = Annotated[str, AfterValidator(_storable)]
CHAT_TIME_CHARS = 64  # the messages.chat_time column


def _chat_time(value: str) -> str:
    """A time the extractor can date memories by, kept as sent. Years run from 1 to 9999
    (what a date holds): "99999-01-01" or SQL would otherwise come back as a memory_time."""
    if len(value) > CHAT_TIME_CHARS or read_chat_time(value) is None:
        raise PydanticCustomError(
            "chat_time",
            "is not a date and time (ISO 8601 such as '2025-06-11 10:00:00', "
            "'2025/06/11', or '1:56 pm on 8 May, 2023'; years 1 to 9999)",
        )
    return value


TAG_CHARS = 200  # the memory_tags.tag column
Tag = Annotated[str, Field(max_length=TAG_CHARS), AfterValidator(_storable)]


def _storable_scalar(value: Scalar) -> Scalar:
    """Info values as the store keeps them: no NaN or infinity (PostgreSQL's JSON has none),
    no integer past 64 bits (orjson writes none)."""
    if isinstance(value, str):
        return _storable(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError("finite_number", "must be a finite number")
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise PydanticCustomError("int_range", "must be an integer of at most 64 bits")
    return value


InfoValue = Annotated[Scalar, AfterValidator(_storable_scalar)]
KnowledgebaseId = Annotated[str, Field(min_length=1, max_length=36), AfterValidator(_storable)]


class ToolFunction(ApiRequest):
    name: StorableText = Field(min_length=1, max_length=200)
    arguments: StorableText = ""  # JSON text, as OpenAI sends it


class ToolCall(ApiRequest):
    id: StorableText = Field(min_length=1, max_length=100)
    type: Literal["function"] = "function"
    function: ToolFunction


class ChatMessage(ApiRequest):
    """A turn in OpenAI's chat-completion format: an assistant turn may call tools (its
    content empty), and a `tool` turn answers one call (`tool_call_id`)."""

    role: Role
    tool_calls: list[ToolCall] | None = Field(None, min_length=1)
    tool_call_id: StorableText | None = Field(None, min_length=1, max_length=100)
    content: StorableText = ""  # after tool_calls: whether it may be empty depends on them
    chat_time: Annotated[StorableText, AfterValidator(_chat_time)] | None = None

    @field_validator("content")
    @classmethod
    def _said_something(cls, value: str, info: ValidationInfo) -> str:
        if not value and not info.data.get("tool_calls"):
            raise PydanticCustomError(
                "string_too_short", "must not be empty (but in a turn that calls tools)"
            )
        return value

    @model_validator(mode="after")
    def _tool_fields_fit_the_role(self) -> "ChatMessage":
        if self.tool_calls is not None and self.role != "assistant":
            raise PydanticCustomError(
                "tool_calls", "has tool_calls: only an assistant turn calls tools"
            )
        if self.tool_call_id is not None and self.role != "tool":
            raise PydanticCustomError(
                "tool_call_id", "has a tool_call_id: only a tool turn answers a tool call"
            )
        return self


class AddMessageRequest(ApiRequest):
    user_id: StorableText = UserId
    conversation_id: StorableText = ConversationId
    messages: list[ChatMessage] = Field(min_length=1)
    agent_id: StorableText | None = Field(None, max_length=100)
    app_id: StorableText | None = Field(None, max_length=100)
    tags: list[Tag] | None = None
    info: dict[StorableText, InfoValue] | None = None
    async_mode: bool = True
    # Who else may find the memories this add produces: every user of the project (its
    # public memory), and searches of these knowledge bases of the project.
    allow_public: bool = False
    allow_knowledgebase_ids: list[KnowledgebaseId] | None = Field(None, max_length=20)

    @model_validator(mode="before")
    @classmethod
    def _legacy_fields(cls, data: Any) -> Any:
        """`asyncMode` for `async_mode`; `source` (deprecated by MemOS for `info.source`)
        kept as `info.source` on the memories, as MemOS does."""
        if isinstance(data, dict) and "asyncMode" in data and data.get("async_mode") is None:
            data = {**data, "async_mode": data["asyncMode"]}
        if isinstance(data, dict) and isinstance(data.get("source"), str) and data["source"]:
            info: dict[str, Any] = data["info"] if isinstance(data.get("info"), dict) else {}
            data = {**data, "info": {"source": data["source"], **info}}
        return data


class AddFeedbackRequest(ApiRequest):
    user_id: StorableText = UserId
    conversation_id: StorableText = ConversationId
    feedback_content: StorableText = Field(min_length=1)
    agent_id: StorableText | None = Field(None, max_length=100)
    app_id: StorableText | None = Field(None, max_length=100)
    allow_public: bool = False
    allow_knowledgebase_ids: list[KnowledgebaseId] | None = Field(None, max_length=20)


class GetMessageRequest(ApiRequest):
    user_id: str = UserId
    conversation_id: str = ConversationId
    message_limit_number: int | None = Field(None, ge=1, le=MAX_COUNT)


class GetStatusRequest(ApiRequest):
    task_id: str = Field(min_length=1, max_length=100)  # ids are UUIDs; bounds the echo
