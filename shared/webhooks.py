"""Webhooks: a project's endpoints hear of changes to its memories, tasks and users.

An event becomes one delivery per endpoint subscribed to its type, written in the transaction
that makes the change (the outbox), so no event is lost whatever happens after the commit.
The workers send them (services/extractor/webhooks.py): signed, retried with backoff, failed
for good after the last attempt and replayable; each delivery at least once, with a stable
event id, and the deliveries of one subject (a memory, a task, a user) in order."""

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.clock import now_ms
from shared.db.models import Memory, Webhook, WebhookDelivery

EVENTS = (
    "memory.created",
    "memory.updated",
    "memory.archived",
    "memory.deleted",
    "task.completed",
    "task.failed",
    "user.erased",
)
SIGNATURE_HEADER = "X-Memos-Signature"


@dataclass(frozen=True)
class Event:
    type: str
    subject: str  # deliveries of one subject go out in order
    user_id: str  # whose: erasing the user deletes the deliveries about them
    data: dict[str, Any]


def memory_event(kind: str, memory: Memory) -> Event:
    """What a receiver learns of a memory: its fields and the ids of its source messages
    (not their text, which a receiver can read with get/message)."""
    return Event(
        f"memory.{kind}",
        memory.id,
        memory.user_id,
        {
            "memory": {
                "id": memory.id,
                "user_id": memory.user_id,
                "conversation_id": memory.conversation_id,
                "memory_key": memory.memory_key,
                "memory_value": memory.memory_value,
                "memory_type": memory.memory_type,
                "kind": memory.kind,
                "status": memory.status,
                "confidence": memory.confidence,
                "tags": memory.tags,
                "info": memory.info,
                "agent_id": memory.agent_id,
                "app_id": memory.app_id,
                "superseded_by": memory.superseded_by,
                "create_time": memory.create_time,
                "update_time": memory.update_time,
                "source_ids": [s.message_id for s in memory.sources],
            }
        },
    )


def task_event(kind: str, task_id: str, user_id: str, job_kind: str, error: str | None) -> Event:
    task = {"task_id": task_id, "user_id": user_id, "kind": job_kind}
    data = {"task": task | ({"error": error} if error else {})}
    return Event(f"task.{kind}", task_id, user_id, data)


def deleted_event(memory_id: str, user_id: str) -> Event:
    return Event(
        "memory.deleted", memory_id, user_id, {"memory": {"id": memory_id, "user_id": user_id}}
    )


def erased_event(user_id: str, messages: int, memories: int) -> Event:
    user = {"user_id": user_id, "messages": messages, "memories": memories}
    return Event("user.erased", user_id, user_id, {"user": user})


def emit(session: Session, project_id: str, events: Callable[[], list[Event]]) -> int:
    """The events' deliveries to the project's endpoints that asked for them, in the caller's
    transaction; `events` is called only when the project has an endpoint (without one, all
    this costs is one indexed query). Returns how many deliveries were written."""
    hooks = session.scalars(select(Webhook).where(Webhook.project_id == project_id)).all()
    if not hooks:
        return 0
    now, written = now_ms(), 0
    for event in events():
        event_id = str(uuid.uuid4())
        body = orjson.dumps(
            {
                "id": event_id,
                "type": event.type,
                "time": now,
                "project_id": project_id,
                "data": event.data,
            }
        ).decode()
        for hook in hooks:
            if event.type in hook.events:
                session.add(
                    WebhookDelivery(
                        event_id=event_id,
                        webhook_id=hook.id,
                        project_id=project_id,
                        subject=event.subject[:200],
                        user_id=event.user_id,
                        event_type=event.type,
                        body=body,
                        status="pending",
                        attempts=0,
                        next_attempt_time=now,
                        create_time=now,
                    )
                )
                written += 1
    return written


def signature(secret: str, body: bytes, at: int | None = None) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "t." + body>`: the timestamp is signed with
    the body, so a receiver can refuse old replays."""
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def verify(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """What a receiver does (README, "Webhooks"): the signature matches and is recent."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        at = int(parts["t"])
    except (ValueError, KeyError):
        return False
    expected = signature(secret, body, at).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", "")) and abs(time.time() - at) <= tolerance
