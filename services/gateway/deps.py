"""What the gateway's handlers depend on: the gateway's parts, and the authenticated project."""

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from services.gateway.keys.service import AuthenticatedProject, KeyCache
from services.gateway.memories.search_client import Retriever
from services.gateway.messages.ingest import Ingest
from services.gateway.messages.waiting import JobWaiter
from shared.errors import InvalidApiKey, MissingApiKey
from shared.limits import FailedAuthLimit, RateLimiter, SharedRateLimiter
from shared.runtime import Runtime


@dataclass
class Gateway:
    """The gateway's own parts over its process's runtime, built once in its lifespan."""

    runtime: Runtime
    keys: KeyCache
    ingest: Ingest
    waiter: JobWaiter
    retriever: Retriever
    rate_limiter: RateLimiter | SharedRateLimiter
    auth_failures: FailedAuthLimit


def gateway_of(request: Request) -> Gateway:
    return cast(Gateway, request.app.state.gateway)


CurrentGateway = Annotated[Gateway, Depends(gateway_of)]


def key_from_header(authorization: str | None) -> str:
    """The key of `Token <key>`, `Bearer <key>` or a bare key."""
    if not authorization or not authorization.strip():
        raise MissingApiKey()
    scheme, _, key = authorization.strip().partition(" ")
    if scheme.lower() in ("token", "bearer"):
        if not key.strip():
            raise MissingApiKey()
    else:  # the bare key
        key = scheme
    return key.strip()


async def authenticated_project(
    request: Request,
    gateway: CurrentGateway,
    authorization: Annotated[
        str | None, Header(description="Token <API_KEY> or Bearer <API_KEY>")
    ] = None,
) -> AuthenticatedProject:
    key = key_from_header(authorization)
    keys, failures = gateway.keys, gateway.auth_failures
    address = request.client.host if request.client else "unknown"
    try:
        project = keys.cached(key)
        if project is None:
            if not keys.was_valid(key):  # a client's own key survives its neighbours
                await failures.refuse_if_blocked(address)
            project = await run_in_threadpool(keys.look_up, gateway.runtime.db.session, key)
    except InvalidApiKey:
        await failures.count_failure(address)  # 40300 instead, once over the limit
        raise
    # Whose request this is, for the request metrics and the usage counts (shared/metrics.py):
    # from here on, a refusal (over the rate limit too) counts as the project's error.
    request.state.project_id, request.state.key_id = project.project_id, project.key_id
    settings = gateway.runtime.settings
    await gateway.rate_limiter.check(
        project.key_id, settings.rate_limit_per_second, settings.rate_limit_burst
    )
    return project


CurrentProject = Annotated[AuthenticatedProject, Depends(authenticated_project)]
