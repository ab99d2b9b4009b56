"""Errors of the openmem v1 contract. Raise these; one handler turns them into the envelope."""

from typing import Any

# Messages quote what the client sent: bounded, so a 100 kB id does not come back whole.
MAX_ECHO = 80
MAX_MESSAGE = 500


def echo(value: Any, limit: int = MAX_ECHO) -> str:
    """A client's value as a message quotes it: strings as they are, the rest as repr,
    cut at `limit` characters, lone surrogates (which no JSON encoder writes) as '?'."""
    text = value if isinstance(value, str) else repr(value)
    text = text if len(text) <= limit else text[:limit] + "…"
    return text.encode("utf-8", "replace").decode("utf-8")


class APIError(Exception):
    code = 50000
    http_status = 500
    default_message = "internal error"

    def __init__(self, message: str | None = None, retry_after: int | None = None) -> None:
        self.message = echo(message or self.default_message, MAX_MESSAGE)
        self.retry_after = retry_after
        super().__init__(self.message)


class InvalidParameter(APIError):
    code, http_status = 40000, 400

    def __init__(self, field: str, reason: str = "is invalid") -> None:
        self.field, self.reason = field, reason
        super().__init__(f"parameter '{field}' {reason}")


class MissingParameter(APIError):
    code, http_status = 40002, 400

    def __init__(self, field: str) -> None:
        super().__init__(f"parameter '{field}' is required and must not be empty")


class UserIdTooLong(APIError):
    code, http_status = 40010, 400
    default_message = "parameter 'user_id' is longer than 100 characters"


class ConversationIdTooLong(APIError):
    code, http_status = 40011, 400
    default_message = "parameter 'conversation_id' is longer than 100 characters"


class MissingApiKey(APIError):
    code, http_status = 40100, 401
    default_message = "no API key: send 'Authorization: Token <API_KEY>'"


class InvalidApiKey(APIError):
    code, http_status = 40132, 401
    default_message = "invalid or revoked API key"


class RateLimited(APIError):
    code, http_status = 40300, 429
    default_message = "rate limit exceeded"


class InputTooLarge(APIError):
    code, http_status = 40305, 413
    default_message = "input over the size limit"


class MemoryNotFound(APIError):
    code, http_status = 40307, 404
    default_message = "memory to delete does not exist"


class InternalError(APIError):
    pass


class MemoryServiceUnavailable(APIError):
    code, http_status = 50004, 503
    default_message = "memory service unavailable: the queue or the store cannot be reached"


class SearchServiceUnavailable(APIError):
    code, http_status = 50005, 503
    default_message = "search service unavailable"


class LlmNotConfigured(APIError):
    code, http_status = 50007, 501
    default_message = "chat needs an LLM: this service has none (set LLM_BASE_URL and LLM_MODEL)"


class LlmFailed(APIError):
    code, http_status = 50008, 502
    default_message = "the LLM did not answer"


class TaskNotFound(APIError):
    code, http_status = 50131, 404
    default_message = "task not found"
