"""Calls between the service's own processes: a pooled HTTP client that sends the shared
token and turns envelope errors back into the exceptions they came from; the check of that
token on the receiving side, and the refusal to listen on a network with the default one."""

import hmac
import ipaddress
from typing import Annotated, Any

import httpx
import orjson
from fastapi import Header, Request

from shared.config import Settings
from shared.errors import APIError, InvalidApiKey
from shared.runtime import runtime_of

DEFAULT_INTERNAL_TOKEN: str = Settings.model_fields["internal_token"].default
TOKEN_HOWTO = (
    "set INTERNAL_TOKEN to one secret shared by the gateway, retriever and workers, "
    "for instance by adding it to .env:\n"
    "  python -c \"import secrets; print('INTERNAL_TOKEN=' + "
    'secrets.token_urlsafe(32))" >> .env'
)


def is_loopback(host: str) -> bool:
    """Whether listening on `host` keeps the port on this machine; a host name other than
    localhost may resolve anywhere, so it counts as beyond loopback."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def unsafe_token_reason(service: str, settings: Settings) -> str | None:
    """Why `service` must not start with these settings, or None. Anyone who reaches a port
    guarded by the published default token can search and delete every project's memories."""
    if is_loopback(settings.host) or settings.internal_token not in ("", DEFAULT_INTERNAL_TOKEN):
        return None
    which = f"is the default {DEFAULT_INTERNAL_TOKEN!r}" if settings.internal_token else "is empty"
    return (
        f"memos {service}: refusing to listen on HOST={settings.host} while INTERNAL_TOKEN "
        f"{which}: anyone reaching the port could read and delete every project's "
        f"memories. Either {TOKEN_HOWTO}\nor set HOST=127.0.0.1 to stay on this machine."
    )


def token_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison of bytes: any header value compares, none raises, and the
    time taken says nothing about how much of the token was right."""
    if not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def internal_caller(
    request: Request, x_internal_token: Annotated[str | None, Header()] = None
) -> None:
    """Dependency of every internal route: only the service's own processes get through."""
    if not token_matches(x_internal_token, runtime_of(request).settings.internal_token):
        raise InvalidApiKey("invalid internal token")


class InternalClient:
    def __init__(
        self, base_url: str, token: str, timeout: float, unavailable: type[APIError]
    ) -> None:
        self._unavailable = unavailable
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=2.0),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            headers={"X-Internal-Token": token, "Content-Type": "application/json"},
        )

    def call(self, path: str, body: object) -> Any:  # the JSON answer's `data`
        try:
            response = self._client.post(
                path, content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
            )
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
