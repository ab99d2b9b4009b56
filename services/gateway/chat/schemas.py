"""The chat request: a query answered by the configured LLM with the user's memories."""

from pydantic import Field

from services.gateway.messages.schemas import (
    ConversationId,
    InfoValue,
    StorableText,
    Tag,
)
from shared.schemas import ApiRequest, Filter, UserId


class ChatRequest(ApiRequest):
    user_id: StorableText = UserId
    conversation_id: StorableText = ConversationId
    query: StorableText = Field(min_length=1)
    system_prompt: StorableText | None = None
    filter: Filter | None = None
    memory_limit_number: int = Field(6, ge=1, le=25)
    relativity: float | None = Field(None, ge=0, le=1)
    include_preference: bool = True
    preference_limit_number: int = Field(6, ge=0, le=25)
    include_tool_memory: bool = False
    tool_memory_limit_number: int = Field(6, ge=0, le=25)
    # The exchange is stored as messages of the conversation (and extracted) once answered.
    add_message_on_answer: bool = True
    agent_id: StorableText | None = Field(None, max_length=100)
    app_id: StorableText | None = Field(None, max_length=100)
    tags: list[Tag] | None = None
    info: dict[StorableText, InfoValue] | None = None
    async_mode: bool = True
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1, le=128_000)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    # Accepted for the SDK's sake and ignored (README, "Chat"): the configured LLM answers
    # (model_name), nothing searches the internet, and knowledge bases do not exist yet.
    model_name: str | None = None
    internet_search: bool = False
    knowledgebase_ids: list[str] | None = None
