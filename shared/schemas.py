"""What the openmem v1 API's domains share: the base of every request model, the fields and
validators more than one domain uses, and the search request (the gateway's and the
retriever's). Each domain's own models are in its `schemas.py`."""

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from shared.errors import InvalidParameter
from shared.filters import parse_filter, scoped


class ApiRequest(BaseModel):
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


def _parsable_filter(raw: dict[str, Any]) -> dict[str, Any]:
    """Checked at the edge, before a gateway forwards a search to a retriever (which could
    not even encode 2**63): the parser's reason, as the validation error of `filter`."""
    try:
        parse_filter(raw)
    except InvalidParameter as refused:
        raise PydanticCustomError("filter", "{reason}", {"reason": refused.reason}) from None
    return raw


Filter = Annotated[dict[str, Any], AfterValidator(_parsable_filter)]


def _scope_values(values: str | list[str]) -> str | list[str]:
    """A scoping field (agent_id, app_id): one id or a list, each as `scoped` takes it."""
    try:
        scoped(None, scope=values)
    except InvalidParameter as refused:
        raise PydanticCustomError("scope", "{reason}", {"reason": refused.reason}) from None
    if any(len(v) > 100 for v in ([values] if isinstance(values, str) else values)):
        raise PydanticCustomError("scope", "ids are at most 100 characters")
    return values


# Memories of these agents or apps only (an id or a list of ids).
Scope = Annotated[str | list[str], AfterValidator(_scope_values)]


# Shared, not in the memories domain: the retriever, its own process, receives it too and
# must not depend on the gateway's package.
class SearchMemoryRequest(ApiRequest):
    query: str = Field(min_length=1)
    user_id: str = UserId
    conversation_id: str | None = Field(None, max_length=100)
    memory_limit_number: int = Field(6, ge=1, le=25)
    relativity: float | None = Field(None, ge=0, le=1)
    filter: Filter | None = None
    agent_id: Scope | None = None
    app_id: Scope | None = None
    # The SDK's default: the user's preferences that bear on the query, listed apart.
    include_preference: bool = True
    preference_limit_number: int = Field(6, ge=0, le=25)
    # What tools did for the user's requests before (the SDK asks for them in search only when
    # told to).
    include_tool_memory: bool = False
    tool_memory_limit_number: int = Field(6, ge=0, le=25)
    include_profile: bool = True  # the user's bound profiles, in profile_detail_list
    # Knowledge bases searched beside the user's memories (their chunks among the memories),
    # and skills (of those, else of all the project's) in skill_detail_list.
    knowledgebase_ids: list[str] | None = Field(None, max_length=20)
    include_skill: bool = False
    skill_limit_number: int = Field(6, ge=0, le=25)
    return_matches: bool = True
    return_instruction: bool = False
    return_full_instruction: bool = False
    # Each item found with the `evidence` behind its relativity (services/retriever/ranking.py,
    # `explained`): for a console or debugging; off, the search does no work for it.
    explain: bool = False


class SearchQuery(BaseModel):
    """What the gateway asks the retriever: the request plus the authenticated project."""

    project_id: str
    request: SearchMemoryRequest


class RerankRequest(ApiRequest):
    query: str = Field(min_length=1)
    documents: list[str] = Field(min_length=1)
    top_n: int | None = Field(None, ge=1)
    model: str | None = None  # accepted and ignored: the service's own relevance model ranks
