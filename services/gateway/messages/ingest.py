"""Accepting dialogue with group commit.

Adds go to one writer thread per gateway process. It takes every add waiting (up to BATCH)
and writes their messages and jobs in one transaction; a second thread sends the new jobs to
Redis in one round trip and answers the adds, while the writer commits the next batch. A lone
add is written at once, and a burst costs one commit instead of one each. An add is answered
only after its commit, so nothing answered is ever lost, and a job the broker did not take is
still in the outbox for the relay. A batch the database refuses is written again add by add,
so only the add it refuses is answered with the error.

Retries: an add's job id and the keys of its messages derive from its identity, so the same
add sent again stores nothing twice, even concurrently (unique keys, ON CONFLICT DO NOTHING).
The identity is the client's Idempotency-Key when it sends one; else the request itself,
with messages that carry chat_time the same wherever they are re-sent (sliding windows), and
a request with a message that lacks one the same only within the retry window (a user who
says "yes" twice is heard twice)."""

import hashlib
import logging
import queue
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import InstrumentedAttribute

from services.gateway.messages.schemas import AddMessageRequest, ChatMessage
from shared.clock import now_ms
from shared.db.models import Base, Job, Message
from shared.db.session import Database
from shared.errors import (
    APIError,
    InputTooLarge,
    InternalError,
    InvalidParameter,
    MemoryServiceUnavailable,
)
from shared.metrics import ADDS_PER_COMMIT
from shared.outbox import publish
from shared.runtime import Runtime
from shared.vector_store import PUBLIC, knowledge_user

log = logging.getLogger(__name__)
NAMESPACE = uuid.UUID("6f1c4a52-7d0e-4c1e-9a57-1f0f3b0c8d21")
BATCH = 256
IDEMPOTENCY_KEY_CHARS = 255


@dataclass(frozen=True)
class Accepted:
    task_id: str
    status: str  # running | completed | failed
    fresh: bool  # created by this add, with messages to extract


@dataclass
class _Add:
    """One add and its identity: the digest its job id and message keys derive from."""

    project_id: str
    request: AddMessageRequest
    kind: str
    identity: str
    # The identity the same request had in the retry window before this one; a job of it
    # accepted less than a window before `received` makes this add its retry.
    earlier: str | None
    received: int
    window: int  # the retry window, in ms
    future: Future[Accepted]

    @property
    def scope(self) -> tuple[str, str, str]:
        return self.project_id, self.request.user_id, self.request.conversation_id

    @property
    def task_id(self) -> str:
        return _task_id(self.identity)

    @property
    def keys(self) -> list[str]:
        return [_dedupe_key(m, self.identity, i) for i, m in enumerate(self.request.messages)]


def _digest(*parts: object) -> str:
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()


def _task_id(identity: str) -> str:
    return str(uuid.uuid5(NAMESPACE, identity))


def _said(message: ChatMessage) -> tuple[object, ...]:
    """What makes a message itself: its role, text and time, and its tool call fields when
    it has them (left out otherwise, so that keys made before they existed still match)."""
    said: tuple[object, ...] = (message.role, message.content, message.chat_time)
    if message.tool_calls is not None or message.tool_call_id is not None:
        said += (_tool_calls(message), message.tool_call_id)
    return said


def _tool_calls(message: ChatMessage) -> list[dict[str, Any]] | None:
    return None if message.tool_calls is None else [c.model_dump() for c in message.tool_calls]


def _dedupe_key(message: ChatMessage, identity: str, index: int) -> str:
    """A message with a chat_time is the same message wherever it is re-sent (clients that
    send a sliding window); one without is only the same inside a retry of its add."""
    if message.chat_time:
        return _digest(*_said(message))
    return _digest(identity, index)


def retry_window_ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def check_limits(messages: list[ChatMessage], max_messages: int, max_chars: int) -> None:
    """0 turns a limit off."""
    if max_messages and len(messages) > max_messages:
        raise InputTooLarge(f"{len(messages)} messages in one request; the limit is {max_messages}")
    longest = max(len(m.content) for m in messages)
    if max_chars and longest > max_chars:
        raise InputTooLarge(f"a message of {longest} characters; the limit is {max_chars}")


def check_idempotency_key(key: str | None) -> None:
    if key is not None and not 0 < len(key) <= IDEMPOTENCY_KEY_CHARS:
        raise InvalidParameter(
            "Idempotency-Key", f"must be 1 to {IDEMPOTENCY_KEY_CHARS} characters"
        )


def _audiences(request: AddMessageRequest) -> list[str]:
    """Who else the add lets find its memories (Memory.shared_with)."""
    return ([PUBLIC] if request.allow_public else []) + [
        knowledge_user(k) for k in dict.fromkeys(request.allow_knowledgebase_ids or [])
    ]


def _identities(
    project_id: str,
    request: AddMessageRequest,
    kind: str,
    idempotency_key: str | None,
    received: int,
    window_ms: int,
) -> tuple[str, str | None]:
    """This add's identity and, when it depends on time, the one it had a window before.
    Time is cut in windows: a request is the same within one, and a retry that crosses into
    the next finds the job of the window before if it is younger than a window."""
    scope = (project_id, request.user_id, request.conversation_id, kind)
    if idempotency_key is not None:
        return _digest(*scope, "idempotency-key", idempotency_key), None
    audiences = _audiences(request)
    sent = _digest(
        *scope,
        [_said(m) for m in request.messages],
        request.agent_id,
        request.app_id,
        request.tags,
        sorted((request.info or {}).items()),
        # An add that shares nothing keeps the identity it had before sharing existed.
        *([audiences] if audiences else []),
    )
    if all(m.chat_time for m in request.messages):
        return sent, None  # its chat_times tell a repeat from a retry, however late
    window = received // window_ms
    return _digest(sent, window), _digest(sent, window - 1)


def prepare(
    project_id: str,
    request: AddMessageRequest,
    kind: str,
    window_ms: int,
    idempotency_key: str | None = None,
) -> _Add:
    """The same request sent again (or the same Idempotency-Key) gets the same job id and
    message keys; see the module's docstring for how long without a key."""
    received = now_ms()
    identity, earlier = _identities(project_id, request, kind, idempotency_key, received, window_ms)
    return _Add(project_id, request, kind, identity, earlier, received, window_ms, Future())


def _recognise_retries(connection: Connection, adds: list[_Add]) -> None:
    """An add whose request was accepted in the window before, less than a window ago, takes
    that add's identity: it is a retry across the windows' border."""
    by_earlier: dict[str, list[tuple[_Add, str]]] = {}
    for add in adds:
        if add.earlier is not None:
            by_earlier.setdefault(_task_id(add.earlier), []).append((add, add.earlier))
    if not by_earlier:
        return
    for task_id, created in connection.execute(
        select(Job.id, Job.create_time).where(Job.id.in_(list(by_earlier)))
    ):
        for add, earlier in by_earlier[task_id]:
            if add.received - created < add.window:
                add.identity = earlier


def _insert_new(
    connection: Connection,
    model: type[Base],
    rows: list[dict[str, Any]],
    returning: InstrumentedAttribute[str],
) -> set[str]:
    """INSERT ... ON CONFLICT DO NOTHING: rows another add stored first (in this process or
    another gateway) are skipped. Returns `returning` of the rows written."""
    if not rows:
        return set()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model.__table__).on_conflict_do_nothing().returning(returning)
    return set(connection.scalars(statement, rows))


def write(connection: Connection, adds: list[_Add]) -> list[Accepted]:
    """Stores the messages and jobs of `adds` and says what became of each, in their order. A
    message already stored (a retried add, a window re-sent with its chat_times) is not
    stored again, and an add with no new message gets a job that is already complete."""
    _recognise_retries(connection, adds)
    now = now_ms()
    messages: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    jobs: dict[str, dict[str, Any]] = {}
    for add in adds:
        request = add.request
        for message, key in zip(request.messages, add.keys, strict=True):
            messages.setdefault(
                (*add.scope, key),
                {
                    "id": str(uuid.uuid5(NAMESPACE, f"{add.task_id}:{key}")),
                    "project_id": add.project_id,
                    "user_id": request.user_id,
                    "conversation_id": request.conversation_id,
                    "task_id": add.task_id,
                    "dedupe_key": key,
                    "role": message.role,
                    "content": message.content,
                    "chat_time": message.chat_time,
                    "tool_calls": _tool_calls(message),
                    "tool_call_id": message.tool_call_id,
                    "create_time": now,
                },
            )
        jobs.setdefault(
            add.task_id,
            {
                "id": add.task_id,
                "project_id": add.project_id,
                "user_id": request.user_id,
                "conversation_id": request.conversation_id,
                "kind": add.kind,
                "attempts": 0,
                "attributes": {
                    "agent_id": request.agent_id,
                    "app_id": request.app_id,
                    "tags": request.tags or [],
                    "info": request.info or {},
                    "shared_with": _audiences(request),
                },
                "create_time": now,
                "update_time": now,
            },
        )
    with_news = _insert_new(connection, Message, list(messages.values()), Message.task_id)
    for task_id, row in jobs.items():
        row["status"] = "running" if task_id in with_news else "completed"
        row["dispatch_time"] = now if task_id in with_news else None
    created = _insert_new(connection, Job, list(jobs.values()), Job.id)
    status = {task_id: row["status"] for task_id, row in jobs.items() if task_id in created}
    if len(created) < len(jobs):
        status.update(
            connection.execute(
                select(Job.id, Job.status).where(
                    Job.id.in_([task_id for task_id in jobs if task_id not in created])
                )
            ).all()
        )
    results, answered = [], set()
    for add in adds:
        fresh = add.task_id in created and add.task_id in with_news and add.task_id not in answered
        answered.add(add.task_id)
        results.append(Accepted(add.task_id, status[add.task_id], fresh))
    return results


def _store_unreachable(exc: Exception) -> bool:
    """Errors of the connection rather than of the data: writing each add alone would only
    fail again, once per add."""
    return (
        isinstance(exc, OperationalError | InterfaceError)
        or isinstance(exc, DBAPIError)
        and exc.connection_invalidated
    )


def _answer_to_failure(exc: Exception) -> Exception:
    """The error an add that could not be stored is answered with."""
    if _store_unreachable(exc):
        return MemoryServiceUnavailable(
            "the store cannot be reached; retrying this request is safe"
        )
    if isinstance(exc, DBAPIError):  # refused by the database: sending it again won't help
        return InvalidParameter("body", "holds a value the database refuses")
    return exc if isinstance(exc, APIError) else InternalError()


def _commit_one_by_one(db: Database, adds: list[_Add]) -> tuple[list[_Add], list[Accepted]] | None:
    """Each add in its own transaction: only the one the database refuses gets the error."""
    written: list[_Add] = []
    results: list[Accepted] = []
    for add in adds:
        try:
            (result,) = _write_in_one_transaction(db, [add])
        except Exception as exc:
            log.exception("could not store an add", extra={"project_id": add.project_id})
            _settle(add.future, _answer_to_failure(exc))
            continue
        written.append(add)
        results.append(result)
    return (written, results) if written else None


def _settle(future: Future[Accepted], outcome: Accepted | BaseException) -> None:
    """Answers an add, unless its client is gone (the future was cancelled)."""
    if future.cancelled():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


Item = TypeVar("Item")


@contextmanager
def _answering_on_failure(adds: list[_Add]) -> Iterator[None]:
    """Whatever goes wrong, the thread lives on and no add is left waiting for an answer."""
    try:
        yield
    except Exception:
        log.exception("adds failed", extra={"count": len(adds)})
        for add in adds:
            if not add.future.done():
                add.future.set_exception(InternalError())


def _drain(
    waiting: queue.SimpleQueue[Item | None], first: Item, limit: int
) -> tuple[list[Item], bool]:
    """`first` and whatever else is waiting, up to `limit`; and whether the end (None) came."""
    items = [first]
    while len(items) < limit:
        try:
            item = waiting.get_nowait()
        except queue.Empty:
            return items, False
        if item is None:
            return items, True
        items.append(item)
    return items, False


def _write_in_one_transaction(db: Database, adds: list[_Add]) -> list[Accepted]:
    with db.core_transaction() as connection:
        return write(connection, adds)


class Ingest:
    """Two threads in a pipeline: the writer commits a batch while the publisher sends the
    jobs of the one before and answers it."""

    def __init__(self, runtime: Runtime) -> None:
        self._db, self._queue, self._settings = runtime.db, runtime.queue, runtime.settings
        self._waiting: queue.SimpleQueue[_Add | None] = queue.SimpleQueue()
        self._committed: queue.SimpleQueue[tuple[list[_Add], list[Accepted]] | None] = (
            queue.SimpleQueue()
        )
        self._threads = [
            threading.Thread(target=self._write, name="ingest-writer", daemon=True),
            threading.Thread(target=self._answer, name="ingest-publisher", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def submit(
        self,
        project_id: str,
        request: AddMessageRequest,
        kind: str,
        idempotency_key: str | None = None,
    ) -> Future[Accepted]:
        settings = self._settings
        check_limits(request.messages, settings.max_messages_per_add, settings.max_message_chars)
        check_idempotency_key(idempotency_key)
        window = retry_window_ms(settings.add_retry_window)
        add = prepare(project_id, request, kind, window, idempotency_key)
        self._waiting.put(add)
        return add.future

    def stop(self) -> None:
        """Answers every add already submitted, then ends the threads."""
        self._waiting.put(None)
        for thread in self._threads:
            thread.join(timeout=30)

    def _write(self) -> None:
        ended = False
        while not ended and (first := self._waiting.get()) is not None:
            adds, ended = _drain(self._waiting, first, BATCH)
            with _answering_on_failure(adds):
                if (committed := self.commit(adds)) is not None:
                    self._committed.put(committed)
        self._committed.put(None)

    def _answer(self) -> None:
        ended = False
        while not ended and (first := self._committed.get()) is not None:
            batches, ended = _drain(self._committed, first, BATCH)
            with _answering_on_failure([add for adds, _ in batches for add in adds]):
                self.publish_and_answer(batches)

    def commit(self, adds: list[_Add]) -> tuple[list[_Add], list[Accepted]] | None:
        """Writes a batch and returns the adds written with what became of them; an add that
        failed is answered with its error here. An add whose client left meanwhile is written
        all the same: a retry finds it."""
        for add in adds:
            add.future.set_running_or_notify_cancel()
        ADDS_PER_COMMIT.observe(len(adds))
        try:
            return adds, _write_in_one_transaction(self._db, adds)
        except Exception as exc:
            if len(adds) == 1 or _store_unreachable(exc):
                log.exception("could not store adds", extra={"count": len(adds)})
                for add in adds:
                    _settle(add.future, _answer_to_failure(exc))
                return None
            log.warning(
                "a batch was refused; writing its adds one by one",
                extra={"count": len(adds), "error": str(exc).splitlines()[0]},
            )
        return _commit_one_by_one(self._db, adds)

    def publish_and_answer(self, batches: list[tuple[list[_Add], list[Accepted]]]) -> None:
        sent = publish(
            self._db,
            self._queue,
            [result.task_id for _, results in batches for result in results if result.fresh],
        )
        for adds, results in batches:
            for add, result in zip(adds, results, strict=True):
                _settle(
                    add.future,
                    MemoryServiceUnavailable(
                        "messages saved, but the job queue is unreachable: extraction will run "
                        "when it is back; retrying this request is safe"
                    )
                    if result.fresh and not sent
                    else result,
                )
