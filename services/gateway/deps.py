"""FastAPI dependencies of the gateway."""

from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from services.gateway.keys.service import AuthenticatedProject, key_cache
from shared.config import get_settings
from shared.db.session import new_session
from shared.errors import InvalidApiKey, MissingApiKey


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
    authorization: Annotated[
        str | None, Header(description="Token <API_KEY> or Bearer <API_KEY>")
    ] = None,
) -> AuthenticatedProject:
    key = key_from_header(authorization)
    failures = request.app.state.auth_failures
    address = request.client.host if request.client else "unknown"
    try:
        project = key_cache.cached(key)
        if project is None:
            if not key_cache.was_valid(key):  # a client's own key survives its neighbours
                await failures.refuse_if_blocked(address)
            project = await run_in_threadpool(key_cache.look_up, new_session, key)
    except InvalidApiKey:
        await failures.count_failure(address)  # 40300 instead, once over the limit
        raise
    settings = get_settings()
    limiter = request.app.state.rate_limiter
    await limiter.check(project.key_id, settings.rate_limit_per_second, settings.rate_limit_burst)
    return project


CurrentProject = Annotated[AuthenticatedProject, Depends(authenticated_project)]
