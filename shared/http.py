"""What every HTTP app of the service shares: the envelope and the one error handler."""

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    return JSONBytes(
        {"code": error.code, "data": None, "message": error.message},
        status_code=error.http_status,
        headers=headers,
    )


def error_from_validation(exc: RequestValidationError) -> APIError:
    err = exc.errors()[0]
    loc = [str(part) for part in err.get("loc", ()) if part != "body"]
    field = ".".join(loc) or "body"
    kind = err.get("type", "")
    if kind == "json_invalid":
        return InvalidParameter("body", "is not valid JSON")
    if kind == "filter":  # the filter parser's own reason, names and all as they were sent
        return InvalidParameter(field, err["msg"])
    if kind == "missing" or (err.get("input") is None and loc):
        return MissingParameter(field)
    if kind == "string_too_long" and loc == ["user_id"]:
        return UserIdTooLong()
    if kind == "string_too_long" and loc == ["conversation_id"]:
        return ConversationIdTooLong()
    if kind in ("string_too_short", "too_short"):
        return MissingParameter(field)
    return InvalidParameter(field, err.get("msg", "is invalid").lower())


def _unreadable_body(cause: BaseException | None) -> InvalidParameter:
    if isinstance(cause, UnicodeDecodeError):
        return InvalidParameter("body", "is not valid UTF-8")
    if isinstance(cause, RecursionError):
        return InvalidParameter("body", "is JSON nested too deeply")
    return InvalidParameter("body", "cannot be read as JSON")


def error_from_http(exc: StarletteHTTPException) -> APIError:
    """Starlette's and FastAPI's own refusals, as the contract's codes: 4xx are 40000."""
    if isinstance(exc.__cause__, APIError):  # raised while the body was being read
        return exc.__cause__
    if exc.status_code == 404:
        error: APIError = InvalidParameter("path", f"does not exist: {exc.detail}")
    elif exc.status_code == 405:
        error = InvalidParameter("method", "is not allowed: every operation is POST")
    elif exc.status_code == 400:  # FastAPI could not parse the body
        error = _unreadable_body(exc.__cause__)
    elif 400 <= exc.status_code < 500:
        error = InvalidParameter("request", str(exc.detail))
    else:
        error = APIError(str(exc.detail))
    error.http_status = exc.status_code
    return error


class AnswerUnexpectedErrors:
    """ASGI middleware: an exception no handler took is answered with the 50000 envelope
    like any other error. Starlette's last-resort handler answers too, but then re-raises,
    and uvicorn closes the keep-alive connection of an app that raised: the client's next
    request on it fails (ECONNRESET)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answering = False

        async def watched_send(message: Message) -> None:
            nonlocal answering
            answering = answering or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception:
            if answering:  # half an answer is out: only closing the connection can end it
                raise
            log.exception("unhandled error", extra={"path": scope.get("path")})
            await envelope_response(InternalError())(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Call before adding other middleware: unexpected errors are answered inside them (the
    request metrics count the 500)."""
    app.add_middleware(AnswerUnexpectedErrors)

    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONBytes:
        return envelope_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONBytes:
        return envelope_response(error_from_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONBytes:
        return envelope_response(error_from_http(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONBytes:
        """The last resort, for an error in a middleware outside AnswerUnexpectedErrors."""
        log.exception("unhandled error", extra={"path": request.url.path})
        return envelope_response(InternalError())
