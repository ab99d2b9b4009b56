"""Calls between the service's own processes: a pooled HTTP client that sends the shared
token and turns envelope errors back into the exceptions they came from."""

import httpx
import orjson

from shared.errors import APIError


class InternalClient:
    def __init__(self, base_url: str, token: str, timeout: float,
                 unavailable: type[APIError]) -> None:
        self._unavailable = unavailable
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=2.0),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            headers={"X-Internal-Token": token, "Content-Type": "application/json"},
        )

    def call(self, path: str, body: object) -> object:
        try:
            response = self._client.post(path, content=orjson.dumps(
                body, option=orjson.OPT_SERIALIZE_NUMPY))
            payload = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise self._unavailable(f"{self._unavailable.default_message}: {exc}") from exc
        if payload.get("code") != 0:
            error = APIError(payload.get("message"))
            error.code, error.http_status = payload.get("code", 50000), response.status_code
            raise error
        return payload["data"]

    def close(self) -> None:
        self._client.close()
