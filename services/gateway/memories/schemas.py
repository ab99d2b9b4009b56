"""Request models of the memories endpoints (the search request is shared with the
retriever: shared/schemas.py)."""

from typing import Literal

from pydantic import Field, model_validator

from services.gateway.messages.schemas import ChatMessage, StorableText
from shared.schemas import MAX_COUNT, ApiRequest, Filter, Scope, UserId


class GetMemoryRequest(ApiRequest):
    user_id: str = UserId
    page: int = Field(1, ge=1, le=MAX_COUNT)
    size: int = Field(10, ge=1, le=50)
    filter: Filter | None = None
    agent_id: Scope | None = None
    app_id: Scope | None = None
    include_preference: bool = True  # the SDK's defaults: preferences and tool memories
    include_tool_memory: bool = True  # listed apart


class DeleteMemoryRequest(ApiRequest):
    memory_ids: list[str] | None = None
    user_id: str | None = Field(None, min_length=1, max_length=100)
    filter: Filter | None = None
    # Legacy shape: {user_ids, memory_ids}.
    user_ids: list[str] | None = None


class DeleteUserRequest(ApiRequest):
    user_id: str = UserId


class UpdateMemoryRequest(ApiRequest):
    memory_id: str = Field(min_length=1, max_length=36)
    content: StorableText | None = Field(None, min_length=1)
    title: StorableText | None = Field(None, min_length=1, max_length=200)
    status: Literal["activated", "archived"] | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> "UpdateMemoryRequest":
        if self.content is None and self.title is None and self.status is None:
            raise ValueError("content, title or status is required")
        return self


class ExtractMemoryRequest(ApiRequest):
    messages: list[ChatMessage] = Field(min_length=1)
    # Accepted for the SDK's sake: this service extracts every kind it knows, with the
    # configured LLM (or the rules), whatever these say.
    extraction_types: list[str] | None = None
    model: str | None = None
