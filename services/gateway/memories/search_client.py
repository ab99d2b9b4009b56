"""The gateway's HTTP client for a retriever running as its own process."""

import httpx

from shared.config import Settings
from shared.errors import APIError, SearchServiceUnavailable
from shared.schemas import SearchMemoryRequest, SearchQuery


class RetrieverClient:
    def __init__(self, settings: Settings) -> None:
        self._client = httpx.Client(
            base_url=settings.retriever_url.rstrip("/"),
            timeout=httpx.Timeout(settings.retriever_timeout, connect=2.0),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            headers={"X-Internal-Token": settings.internal_token},
        )

    def search(self, project_id: str, request: SearchMemoryRequest) -> dict:
        query = SearchQuery(project_id=project_id, request=request)
        try:
            response = self._client.post("/internal/search", content=query.model_dump_json(),
                                         headers={"Content-Type": "application/json"})
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SearchServiceUnavailable(f"search service unavailable: {exc}") from exc
        if body.get("code") != 0:
            error = APIError(body.get("message"))
            error.code, error.http_status = body.get("code", 50005), response.status_code
            raise error
        return body["data"]
