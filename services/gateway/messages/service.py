"""Accepting dialogue: store the raw messages and the job in one transaction, then enqueue."""

import hashlib
import logging
import time
import uuid

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.gateway.messages import repository
from shared.clock import now_ms
from shared.config import get_settings
from shared.db.models import Message, Task
from shared.db.session import new_session, transaction
from shared.errors import InputTooLarge, MemoryServiceUnavailable, TaskNotFound
from shared.queue import enqueue_extraction
from shared.schemas import AddMessageRequest, ChatMessage

log = logging.getLogger(__name__)
NAMESPACE = uuid.UUID("6f1c4a52-7d0e-4c1e-9a57-1f0f3b0c8d21")


def _digest(*parts: object) -> str:
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()


def _dedupe_key(message: ChatMessage, batch: str, index: int) -> str:
    """A message with a chat_time is the same message wherever it is re-sent (clients that
    send a sliding window); one without is only the same inside an identical retried batch."""
    if message.chat_time:
        return _digest(message.role, message.content, message.chat_time)
    return _digest(batch, index)


def _store(session: Session, project_id: str, request: AddMessageRequest,
           kind: str) -> tuple[Task, bool]:
    """Returns the job and whether it is new and has messages to extract."""
    batch = _digest(project_id, request.user_id, request.conversation_id, kind,
                    [(m.role, m.content, m.chat_time) for m in request.messages])
    task_id = str(uuid.uuid5(NAMESPACE, batch))
    existing = session.get(Task, task_id)
    if existing is not None:
        return existing, False
    keys = [_dedupe_key(m, batch, i) for i, m in enumerate(request.messages)]
    seen = repository.existing_dedupe_keys(session, project_id, request.user_id,
                                           request.conversation_id, keys)
    now = now_ms()
    fresh = [(m, k) for m, k in zip(request.messages, keys, strict=True) if k not in seen]
    seen_in_batch: set[str] = set()
    for message, key in fresh:
        if key in seen_in_batch:
            continue
        seen_in_batch.add(key)
        session.add(Message(
            id=str(uuid.uuid5(NAMESPACE, f"{task_id}:{key}")), project_id=project_id,
            user_id=request.user_id, conversation_id=request.conversation_id, task_id=task_id,
            dedupe_key=key, role=message.role, content=message.content,
            chat_time=message.chat_time, create_time=now,
        ))
    attributes = {"agent_id": request.agent_id, "app_id": request.app_id,
                  "tags": request.tags or [], "info": request.info or {}}
    task = Task(id=task_id, project_id=project_id, user_id=request.user_id,
                conversation_id=request.conversation_id, kind=kind,
                status="running" if seen_in_batch else "completed", attributes=attributes,
                attempts=0, dispatch_time=now if seen_in_batch else None,
                create_time=now, update_time=now)
    session.add(task)
    return task, bool(seen_in_batch)


def check_limits(request: AddMessageRequest) -> None:
    settings = get_settings()
    if settings.max_messages_per_add and len(request.messages) > settings.max_messages_per_add:
        raise InputTooLarge(f"{len(request.messages)} messages in one add; the limit is "
                            f"{settings.max_messages_per_add}")
    longest = max(len(m.content) for m in request.messages)
    if settings.max_message_chars and longest > settings.max_message_chars:
        raise InputTooLarge(f"a message of {longest} characters; the limit is "
                            f"{settings.max_message_chars}")


def add_messages(project_id: str, request: AddMessageRequest, kind: str = "add") -> Task:
    """Commit the messages and their job, then hand the job to the queue. The same request
    sent again returns the first one's task and writes nothing."""
    check_limits(request)
    for attempt in range(3):
        try:
            with transaction() as session:
                task, fresh = _store(session, project_id, request, kind)
            break
        except IntegrityError:
            # A concurrent identical request won the race; read what it wrote.
            if attempt == 2:
                raise
    if fresh:
        try:
            enqueue_extraction(task.id)
        except Exception as exc:
            # Committed and in the outbox: the relay sends it once the broker is back.
            log.warning("enqueue failed", extra={"task_id": task.id, "error": str(exc)})
            _mark_undispatched(task.id)
            raise MemoryServiceUnavailable(
                "messages saved, but the job queue is unreachable: extraction will run when it "
                "is back; retrying this request is safe") from exc
    if not request.async_mode:
        return wait_for_task(project_id, task.id, timeout=get_settings().sync_add_timeout)
    return task


def _mark_undispatched(task_id: str) -> None:
    """Lets the relay send the job on its next pass instead of after the re-send delay."""
    try:
        with transaction() as session:
            task = session.get(Task, task_id)
            if task is not None and task.status == "running":
                task.dispatch_time = None
    except Exception:
        log.exception("could not mark job for re-send", extra={"task_id": task_id})


def wait_for_task(project_id: str, task_id: str, timeout: float) -> Task:
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        task = get_task(project_id, task_id)
        if task.status != "running" or time.monotonic() > deadline:
            return task
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def get_task(project_id: str, task_id: str) -> Task:
    with new_session() as session:
        task = repository.get_task(session, project_id, task_id)
    if task is None:
        raise TaskNotFound(f"task '{task_id}' not found")
    return task


def get_messages(project_id: str, user_id: str, conversation_id: str,
                 last: int | None) -> list[Message]:
    with new_session() as session:
        return repository.conversation_messages(session, project_id, user_id, conversation_id,
                                                last)
