"""FastAPI dependencies of the gateway."""

from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from services.gateway.keys.service import AuthenticatedProject, key_cache
from shared.config import get_settings
from shared.db.session import new_session
from shared.errors import MissingApiKey


async def authenticated_project(
    request: Request,
    authorization: Annotated[str | None, Header(description="Token <API_KEY> or Bearer <API_KEY>")]
    = None,
) -> AuthenticatedProject:
    if not authorization or not authorization.strip():
        raise MissingApiKey()
    scheme, _, key = authorization.strip().partition(" ")
    if scheme.lower() in ("token", "bearer"):
        if not key.strip():
            raise MissingApiKey()
    else:  # the bare key
        key = scheme
    key = key.strip()
    project = key_cache.cached(key) or await run_in_threadpool(key_cache.look_up,
                                                               new_session, key)
    settings = get_settings()
    limiter = request.app.state.rate_limiter
    await limiter.check(project.key_id, settings.rate_limit_per_second, settings.rate_limit_burst)
    return project


CurrentProject = Annotated[AuthenticatedProject, Depends(authenticated_project)]
