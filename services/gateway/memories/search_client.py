"""Where the gateway's searches go: the retriever in this process, or one running as its own
process behind RETRIEVER_URL. Both answer the same call; which one is chosen once."""

from typing import Any, Protocol

from shared.config import Settings
from shared.errors import SearchServiceUnavailable
from shared.internal_http import InternalClient
from shared.schemas import SearchMemoryRequest, SearchQuery


class Searcher(Protocol):
    def search(self, project_id: str, request: SearchMemoryRequest) -> dict[str, Any]: ...


class InProcessSearcher:
    """The embedded default: the retriever's code, in the gateway's process."""

    def search(self, project_id: str, request: SearchMemoryRequest) -> dict[str, Any]:
        from services.retriever.service import search_memories

        return search_memories(project_id, request)


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


def searcher_for(settings: Settings) -> Searcher:
    return RetrieverClient(settings) if settings.retriever_url else InProcessSearcher()
