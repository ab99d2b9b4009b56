"""The gateway's one way to the retriever: its code in this process (the embedded default),
or a retriever running as its own process behind RETRIEVER_URL. Both search, and both remove
the index points of what a delete removed from SQL; which one is chosen once, with the
gateway's runtime."""

from typing import Any, Protocol

from shared.config import Settings
from shared.errors import SearchServiceUnavailable
from shared.internal_http import InternalClient
from shared.runtime import Runtime
from shared.schemas import SearchMemoryRequest, SearchQuery


class Retriever(Protocol):
    def search(self, project_id: str, request: SearchMemoryRequest) -> dict[str, Any]: ...

    def delete(self, ids: list[str]) -> None: ...

    def delete_user(self, project_id: str, user_id: str) -> None:
        """Every index point of the user, whether SQL still knows it or not (an erasure)."""
        ...

    def close(self) -> None: ...


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

    def delete(self, ids: list[str]) -> None:
        if ids:
            self._client.call("/internal/index/delete", {"ids": ids})

    def delete_user(self, project_id: str, user_id: str) -> None:
        self._client.call(
            "/internal/index/delete-user", {"project_id": project_id, "user_id": user_id}
        )

    def close(self) -> None:
        self._client.close()


def retriever_for(runtime: Runtime) -> Retriever:
    if runtime.settings.retriever_url:
        return RetrieverClient(runtime.settings)
    from services.retriever.service import InProcessRetriever

    return InProcessRetriever(runtime)
