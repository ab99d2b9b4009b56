"""What the console's pages read that no API route reads: projects, keys, users and their
conversations, a filtered list of memories, and the jobs of a project. Writes go through the
services the API routes use."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shared.clock import now_ms
from shared.db.models import ApiKey, DeadLetter, Job, Memory, MemoryTag, Message, Project
from shared.db.session import Database
from shared.queue import JobQueue

PAGE = 50


@dataclass(frozen=True)
class ProjectRow:
    id: str
    create_time: int
    keys: int
    users: int
    memories: int


def projects(db: Database) -> list[ProjectRow]:
    with db.session() as session:
        keys = dict(
            session.execute(
                select(ApiKey.project_id, func.count())
                .where(ApiKey.revoke_time.is_(None))
                .group_by(ApiKey.project_id)
            ).all()
        )
        users = dict(
            session.execute(
                select(Message.project_id, func.count(func.distinct(Message.user_id))).group_by(
                    Message.project_id
                )
            ).all()
        )
        memories = dict(
            session.execute(
                select(Memory.project_id, func.count())
                .where(Memory.status == "activated", Memory.user_id.not_like("kb:%"))
                .group_by(Memory.project_id)
            ).all()
        )
        rows = session.scalars(select(Project).order_by(Project.create_time)).all()
        return [
            ProjectRow(
                p.id, p.create_time, keys.get(p.id, 0), users.get(p.id, 0), memories.get(p.id, 0)
            )
            for p in rows
        ]


def project_exists(db: Database, project_id: str) -> bool:
    with db.session() as session:
        return session.get(Project, project_id) is not None


def create_project(db: Database, project_id: str) -> bool:
    """False when a project of that id exists already."""
    with db.transaction() as session:
        if session.get(Project, project_id) is not None:
            return False
        session.add(Project(id=project_id, create_time=now_ms()))
    return True


def keys(db: Database, project_id: str) -> list[ApiKey]:
    with db.session() as session:
        return list(
            session.scalars(
                select(ApiKey)
                .where(ApiKey.project_id == project_id)
                .order_by(ApiKey.revoke_time.is_not(None), ApiKey.create_time.desc())
            )
        )


@dataclass(frozen=True)
class UserRow:
    user_id: str
    messages: int
    memories: int
    conversations: int
    last_activity: int


def users(db: Database, project_id: str, search: str = "") -> list[UserRow]:
    """The project's users (those who sent messages), the most recently active first."""
    with db.session() as session:
        said = select(
            Message.user_id,
            func.count(),
            func.count(func.distinct(Message.conversation_id)),
            func.max(Message.create_time),
        ).where(Message.project_id == project_id)
        if search:
            said = said.where(Message.user_id.contains(search, autoescape=True))
        stats = session.execute(said.group_by(Message.user_id)).all()
        remembered = dict(
            session.execute(
                select(Memory.user_id, func.count())
                .where(Memory.project_id == project_id, Memory.status == "activated")
                .group_by(Memory.user_id)
            ).all()
        )
    rows = [
        UserRow(user, count, remembered.get(user, 0), conversations, last)
        for user, count, conversations, last in stats
    ]
    return sorted(rows, key=lambda r: -r.last_activity)


@dataclass(frozen=True)
class ConversationRow:
    conversation_id: str
    messages: int
    first: int
    last: int


def conversations(db: Database, project_id: str, user_id: str) -> list[ConversationRow]:
    with db.session() as session:
        rows = session.execute(
            select(
                Message.conversation_id,
                func.count(),
                func.min(Message.create_time),
                func.max(Message.create_time),
            )
            .where(Message.project_id == project_id, Message.user_id == user_id)
            .group_by(Message.conversation_id)
        ).all()
    return sorted((ConversationRow(*r) for r in rows), key=lambda c: -c.last)


@dataclass(frozen=True)
class MemoryQuery:
    """The memories page's filters (empty: any)."""

    kind: str = ""
    memory_type: str = ""
    status: str = ""
    conversation_id: str = ""
    tag: str = ""
    since: int | None = None  # epoch ms
    until: int | None = None
    page: int = 1


def memories(
    db: Database, project_id: str, user_id: str, query: MemoryQuery
) -> tuple[list[Memory], int]:
    """A page of the user's memories, newest first, and how many match."""
    where: list[Any] = [Memory.project_id == project_id, Memory.user_id == user_id]
    if query.kind == "preference":
        where.append(Memory.kind.in_(("explicit_preference", "implicit_preference")))
    elif query.kind:
        where.append(Memory.kind == query.kind)
    for column, value in (
        (Memory.memory_type, query.memory_type),
        (Memory.status, query.status),
        (Memory.conversation_id, query.conversation_id),
    ):
        if value:
            where.append(column == value)
    if query.tag:
        where.append(Memory.id.in_(select(MemoryTag.memory_id).where(MemoryTag.tag == query.tag)))
    if query.since is not None:
        where.append(Memory.create_time >= query.since)
    if query.until is not None:
        where.append(Memory.create_time <= query.until)
    with db.session() as session:
        total = session.scalar(select(func.count()).select_from(Memory).where(*where)) or 0
        rows = session.scalars(
            select(Memory)
            .where(*where)
            .order_by(Memory.create_time.desc(), Memory.id)
            .offset((query.page - 1) * PAGE)
            .limit(PAGE)
        ).all()
        return list(rows), total


def owner(db: Database, project_id: str, memory_id: str) -> str | None:
    """The user a memory of the project belongs to."""
    with db.session() as session:
        memory = session.get(Memory, memory_id)
        return memory.user_id if memory is not None and memory.project_id == project_id else None


def tags(db: Database, project_id: str, user_id: str) -> list[str]:
    with db.session() as session:
        return list(
            session.scalars(
                select(MemoryTag.tag)
                .join(Memory, Memory.id == MemoryTag.memory_id)
                .where(Memory.project_id == project_id, Memory.user_id == user_id)
                .distinct()
                .order_by(MemoryTag.tag)
                .limit(200)
            )
        )


@dataclass(frozen=True)
class JobRow:
    id: str
    user_id: str
    kind: str
    state: str  # pending | running | failed
    attempts: int
    error: str | None
    create_time: int
    update_time: int


@dataclass(frozen=True)
class JobsView:
    jobs: list[JobRow]
    pending: int
    running: int
    failed: int
    dead_letters: int
    completed_last_minute: int
    completed_last_hour: int
    queue_depth: int | None  # None: the broker did not answer


def _state(job: Job) -> str:
    """Accepted and not started (no attempt yet), running (a worker took it), or failed."""
    if job.status == "failed":
        return "failed"
    return "running" if job.attempts else "pending"


def jobs(db: Database, queue: JobQueue, project_id: str) -> JobsView:
    """The project's unfinished and failed jobs, newest first, and how fast jobs finish."""
    now = now_ms()
    with db.session() as session:
        open_jobs = session.scalars(
            select(Job)
            .where(Job.project_id == project_id, Job.status.in_(("running", "failed")))
            .order_by(Job.create_time.desc())
            .limit(200)
        ).all()
        counts = dict(
            session.execute(
                select(Job.status, func.count())
                .where(Job.project_id == project_id, Job.status.in_(("running", "failed")))
                .group_by(Job.status)
            ).all()
        )
        started = session.scalar(
            select(func.count()).where(
                Job.project_id == project_id, Job.status == "running", Job.attempts > 0
            )
        )
        dead = session.scalar(
            select(func.count()).where(
                DeadLetter.project_id == project_id, DeadLetter.replay_time.is_(None)
            )
        )
        recent = _completed_since(session, project_id, now - 3_600_000)
    try:
        depth: int | None = queue.depth()
    except Exception:  # the broker being down must not break the page
        depth = None
    return JobsView(
        jobs=[
            JobRow(
                j.id,
                j.user_id,
                j.kind,
                _state(j),
                j.attempts,
                j.error,
                j.create_time,
                j.update_time,
            )
            for j in open_jobs
        ],
        pending=counts.get("running", 0) - (started or 0),
        running=started or 0,
        failed=counts.get("failed", 0),
        dead_letters=dead or 0,
        completed_last_minute=sum(1 for t in recent if t >= now - 60_000),
        completed_last_hour=len(recent),
        queue_depth=depth,
    )


def _completed_since(session: Session, project_id: str, since: int) -> list[int]:
    return list(
        session.scalars(
            select(Job.update_time).where(
                Job.project_id == project_id,
                Job.status == "completed",
                Job.update_time >= since,
                or_(Job.kind == "add", Job.kind == "feedback", Job.kind == "kb_file"),
            )
        )
    )
