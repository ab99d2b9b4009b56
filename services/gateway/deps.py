"""FastAPI dependencies of the gateway."""

from typing import Annotated

from fastapi import Depends, Header

from services.gateway.keys.service import AuthenticatedProject, key_cache
from shared.db.session import new_session
from shared.errors import MissingApiKey


def authenticated_project(
    authorization: Annotated[str | None, Header(description="Token <API_KEY> or Bearer <API_KEY>")]
    = None,
) -> AuthenticatedProject:
    if not authorization or not authorization.strip():
        raise MissingApiKey()
    scheme, _, key = authorization.strip().partition(" ")
    # "Token <key>", "Bearer <key>", or the bare key.
    return key_cache.authenticate(new_session, key.strip() or scheme)


CurrentProject = Annotated[AuthenticatedProject, Depends(authenticated_project)]
