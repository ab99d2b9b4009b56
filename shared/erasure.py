"""Erasing a user: every row held for them, in one transaction.

Raw messages, memories with their history, sources and tags, jobs and their dead letters, and
the deletions that name the user. The caller removes the user's points from the index after
the commit. A job of the user still queued or running then finds no job and writes nothing."""

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from shared.db.models import Deletion, Job, MemorySource, Message, Profile, WebhookDelivery
from shared.dead_letters import delete_dead_letters
from shared.memories import delete_by_ids, matching_ids
from shared.webhooks import emit, erased_event


@dataclass(frozen=True)
class Erased:
    messages: int
    memories: int
    jobs: int
    dead_letters: int
    memory_ids: list[str]


def erase_user_rows(session: Session, project_id: str, user_id: str) -> Erased:
    # Jobs first: a running job holds its job row while it touches memories, so taking the
    # job rows before the memories keeps the two from waiting on each other.
    task_ids = list(
        session.scalars(
            select(Job.id)
            .where(Job.project_id == project_id, Job.user_id == user_id)
            .with_for_update()
        )
    )
    dead_letters = delete_dead_letters(session, task_ids)
    # A DELETE's result is a CursorResult; Session.execute is typed as the general Result.
    jobs = cast(
        CursorResult[Any],
        session.execute(delete(Job).where(Job.project_id == project_id, Job.user_id == user_id)),
    ).rowcount
    memory_ids = matching_ids(session, project_id, user_id, None)
    delete_by_ids(session, memory_ids)
    users_messages = select(Message.id).where(
        Message.project_id == project_id, Message.user_id == user_id
    )
    # Sources elsewhere that quote the user's messages (none are made today; kept safe).
    session.execute(delete(MemorySource).where(MemorySource.message_id.in_(users_messages)))
    messages = cast(
        CursorResult[Any],
        session.execute(
            delete(Message).where(Message.project_id == project_id, Message.user_id == user_id)
        ),
    ).rowcount
    session.execute(
        delete(Deletion).where(Deletion.project_id == project_id, Deletion.user_id == user_id)
    )
    # What the webhooks had still to tell of the user, or told: their data too.
    session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.project_id == project_id, WebhookDelivery.user_id == user_id
        )
    )
    emit(session, project_id, lambda: [erased_event(user_id, messages, len(memory_ids))])
    session.execute(
        delete(Profile).where(
            Profile.project_id == project_id,
            Profile.subject_kind == "user",
            Profile.subject_id == user_id,
        )
    )
    return Erased(messages, len(memory_ids), jobs, dead_letters, memory_ids)
