"""Request models of the memories endpoints (the search request is shared with the
retriever: shared/schemas.py)."""

from pydantic import Field

from shared.schemas import MAX_COUNT, ApiRequest, Filter, UserId


class GetMemoryRequest(ApiRequest):
    user_id: str = UserId
    page: int = Field(1, ge=1, le=MAX_COUNT)
    size: int = Field(10, ge=1, le=50)
    filter: Filter | None = None


class DeleteMemoryRequest(ApiRequest):
    memory_ids: list[str] | None = None
    user_id: str | None = Field(None, min_length=1, max_length=100)
    filter: Filter | None = None
    # Legacy shape: {user_ids, memory_ids}.
    user_ids: list[str] | None = None


class DeleteUserRequest(ApiRequest):
    user_id: str = UserId
