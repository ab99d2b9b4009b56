"""What every HTTP app of the service shares: the envelope and the one error handler."""

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import (
    APIError,
    ConversationIdTooLong,
    InternalError,
    InvalidParameter,
    MissingParameter,
    UserIdTooLong,
)

log = logging.getLogger(__name__)


class JSONBytes(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def ok(data: Any) -> JSONBytes:
    """The success envelope, serialised here: a Response skips FastAPI's generic encoder."""
    return JSONBytes({"code": 0, "data": data, "message": "ok"})


def envelope_response(error: APIError) -> JSONBytes:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    return JSONBytes({"code": error.code, "data": None, "message": error.message},
                     status_code=error.http_status, headers=headers)


def error_from_validation(exc: RequestValidationError) -> APIError:
    err = exc.errors()[0]
    loc = [str(part) for part in err.get("loc", ()) if part != "body"]
    field = ".".join(loc) or "body"
    kind = err.get("type", "")
    if kind == "json_invalid":
        return InvalidParameter("body", "is not valid JSON")
    if kind == "missing" or (err.get("input") is None and loc):
        return MissingParameter(field)
    if kind == "string_too_long" and loc == ["user_id"]:
        return UserIdTooLong()
    if kind == "string_too_long" and loc == ["conversation_id"]:
        return ConversationIdTooLong()
    if kind in ("string_too_short", "too_short"):
        return MissingParameter(field)
    return InvalidParameter(field, err.get("msg", "is invalid").lower())


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONBytes:
        return envelope_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONBytes:
        return envelope_response(error_from_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONBytes:
        if isinstance(exc.__cause__, APIError):  # raised while the body was being read
            return envelope_response(exc.__cause__)
        error = InvalidParameter("path", f"does not exist: {exc.detail}") \
            if exc.status_code == 404 else APIError(str(exc.detail))
        if exc.status_code == 405:
            error = InvalidParameter("method", "is not allowed: every operation is POST")
        error.http_status = exc.status_code
        return envelope_response(error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONBytes:
        log.exception("unhandled error", extra={"path": request.url.path})
        return envelope_response(InternalError())
