"""The gateway's client for a retriever running as its own process."""

from typing import Any

from shared.config import Settings
from shared.errors import SearchServiceUnavailable
from shared.internal_http import InternalClient
from shared.schemas import SearchMemoryRequest, SearchQuery


class RetrieverClient:
    def __init__(self, settings: Settings) -> None:
        self._client = InternalClient(
            settings.retriever_url,
            settings.internal_token,
            settings.retriever_timeout,
            SearchServiceUnavailable,
        )

    def search(self, project_id: str, request: SearchMemoryRequest) -> dict[str, Any]:
        query = SearchQuery(project_id=project_id, request=request)
        answer: dict[str, Any] = self._client.call("/internal/search", query.model_dump())
        return answer
