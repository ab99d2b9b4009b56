"""The gateway's one way to the retriever: its code in this process (the embedded default),
or a retriever running as its own process behind RETRIEVER_URL. Both search and rerank, and both remove
the index points of what a delete removed from SQL; which one is chosen once, with the
gateway's runtime."""

from typing import Any, Protocol

from shared.config import Settings
from shared.errors import SearchServiceUnavailable
from shared.runtime import Runtime
from shared.schemas import RerankRequest, SearchMemoryRequest, SearchQuery
from shared.vector_store.remote import RemoteIndex, retriever_client


class Retriever(Protocol):
    def search(self, project_id: str, request: SearchMemoryRequest) -> dict[str, Any]: ...

    def rerank(self, request: RerankRequest) -> dict[str, Any]: ...

    def delete(self, ids: list[str]) -> None: ...

    def delete_user(self, project_id: str, user_id: str) -> None:
        """Every index point of the user, whether SQL still knows it or not (an erasure)."""
        ...

    def close(self) -> None: ...


class RetrieverClient:
    """A retriever running as its own process: searches, and deletes in the index it owns."""

    def __init__(self, settings: Settings) -> None:
        self._client = retriever_client(settings.retriever_url, settings, SearchServiceUnavailable)
        self._index = RemoteIndex(self._client)

    def search(self, project_id: str, request: SearchMemoryRequest) -> dict[str, Any]:
        query = SearchQuery(project_id=project_id, request=request)
        answer: dict[str, Any] = self._client.call("/internal/search", query.model_dump())
        return answer

    def rerank(self, request: RerankRequest) -> dict[str, Any]:
        answer: dict[str, Any] = self._client.call("/internal/rerank", request.model_dump())
        return answer

    def delete(self, ids: list[str]) -> None:
        self._index.delete(ids)

    def delete_user(self, project_id: str, user_id: str) -> None:
        self._index.delete_user(project_id, user_id)

    def close(self) -> None:
        self._client.close()


def retriever_for(runtime: Runtime) -> Retriever:
    if runtime.settings.retriever_url:
        return RetrieverClient(runtime.settings)
    from services.retriever.service import InProcessRetriever

    return InProcessRetriever(runtime)
