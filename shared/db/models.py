"""SQL tables: projects and keys, raw messages, extraction jobs (the outbox) and memories.

SQL is the source of truth for memories; Qdrant is their search index.
Times are epoch milliseconds so both SQLite and PostgreSQL store them the same way.
"""

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


ID = String(36)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    create_time: Mapped[int] = mapped_column(BigInteger)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    # sha256 of the whole key: keys are 256 random bits, so a fast hash is enough.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(100))
    create_time: Mapped[int] = mapped_column(BigInteger)
    revoke_time: Mapped[int | None] = mapped_column(BigInteger)
    last_use_time: Mapped[int | None] = mapped_column(BigInteger)  # to the minute or so


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation", "project_id", "user_id", "conversation_id", "seq"),
        Index(
            "uq_messages_dedupe",
            "project_id",
            "user_id",
            "conversation_id",
            "dedupe_key",
            unique=True,
        ),
    )
    # seq orders a conversation: the order messages were accepted in.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(ID, unique=True)
    project_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(String(100))
    conversation_id: Mapped[str] = mapped_column(String(100))
    task_id: Mapped[str] = mapped_column(ID, index=True)
    dedupe_key: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    chat_time: Mapped[str | None] = mapped_column(String(64))
    # OpenAI's tool calling: the calls an assistant turn makes, the call a tool turn answers.
    tool_calls: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    tool_call_id: Mapped[str | None] = mapped_column(String(100))
    create_time: Mapped[int] = mapped_column(BigInteger)


class Job(Base):
    """An extraction job. The row is written in the same transaction as its messages, so it is
    also the outbox entry: the relay re-sends any job not finished in time."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_pending", "status", "dispatch_time"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(100), index=True)
    user_id: Mapped[str] = mapped_column(String(100))
    conversation_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="add")
    status: Mapped[str] = mapped_column(String(16))  # running | completed | failed
    # What the add carried besides messages, applied to every memory of the job.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    dispatch_time: Mapped[int | None] = mapped_column(BigInteger)
    create_time: Mapped[int] = mapped_column(BigInteger)
    update_time: Mapped[int] = mapped_column(BigInteger)


class DeadLetter(Base):
    """A job that failed for good, kept for a person to inspect and replay."""

    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    task_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(100))
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    fail_time: Mapped[int] = mapped_column(BigInteger)
    replay_time: Mapped[int | None] = mapped_column(BigInteger, index=True)


class MemorySource(Base):
    __tablename__ = "memory_sources"
    memory_id: Mapped[str] = mapped_column(
        ForeignKey("memories.id", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[Message] = relationship(lazy="joined")


class MemoryTag(Base):
    """One row per tag, so `tags contains x` is a portable indexed lookup."""

    __tablename__ = "memory_tags"
    memory_id: Mapped[str] = mapped_column(
        ForeignKey("memories.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class Memory(Base):
    __tablename__ = "memories"
    __table_args__ = (Index("ix_memories_user", "project_id", "user_id", "create_time"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(String(100))
    conversation_id: Mapped[str] = mapped_column(String(100))
    agent_id: Mapped[str | None] = mapped_column(String(100))
    app_id: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[str] = mapped_column(ID, index=True)
    memory_key: Mapped[str] = mapped_column(String(200))
    memory_value: Mapped[str] = mapped_column(Text)
    memory_type: Mapped[str] = mapped_column(String(32), default="WorkingMemory")
    # fact, or a preference: explicit_preference (stated) or implicit_preference (inferred
    # from what the user chose). Search and get list each kind apart.
    kind: Mapped[str] = mapped_column(String(24), default="fact", server_default="fact")
    memory_time: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="activated")
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Who else finds it in search beside its user, as the add that produced it allowed:
    # "public" (every user of the project), "kb:<id>" (searches of that knowledge base).
    shared_with: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    create_time: Mapped[int] = mapped_column(BigInteger)
    update_time: Mapped[int] = mapped_column(BigInteger)
    # An archived memory points at the memory that replaced it: the history of a fact.
    superseded_by: Mapped[str | None] = mapped_column(String(36), index=True)
    # Who stated it, when the dialogue names its speakers ("Caroline: …"): search weighs a
    # question that names a person towards what that person said.
    subject: Mapped[str | None] = mapped_column(String(100))
    # The turns around the statement (the question it answers, the reply it got): indexed
    # with it, not shown as its text.
    context: Mapped[str] = mapped_column(Text, default="", server_default="")
    sources: Mapped[list[MemorySource]] = relationship(
        order_by=MemorySource.position, cascade="all, delete-orphan", lazy="selectin"
    )
    tag_rows: Mapped[list[MemoryTag]] = relationship(cascade="all, delete-orphan")


class Deletion(Base):
    """What a delete covered (memory ids, a user's memories, or a filter) and when: a job
    accepted before it drops what it covers, so a delete is not undone by a late job."""

    __tablename__ = "deletions"
    __table_args__ = (Index("ix_deletions_project", "project_id", "delete_time"),)
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    project_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str | None] = mapped_column(String(100))
    memory_ids: Mapped[list[str] | None] = mapped_column(JSON)
    filter: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    delete_time: Mapped[int] = mapped_column(BigInteger)


class ProfileTemplate(Base):
    """A project's own set of named profile fields (the built-in `default` is in code:
    shared/profiles.py)."""

    __tablename__ = "profile_templates"
    project_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # [{"name": ..., "description": ...}]
    fields: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    create_time: Mapped[int] = mapped_column(BigInteger)


class Profile(Base):
    """A template bound to a user or an agent, with its values: {field: {"value", "source"
    (memory or edited), "memory_id", "update_time"}}."""

    __tablename__ = "profiles"
    project_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # user | agent
    subject_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    create_time: Mapped[int] = mapped_column(BigInteger)
    update_time: Mapped[int] = mapped_column(BigInteger)


class KnowledgeBase(Base):
    """A project's set of documents and skills; its chunks are memories of the user
    `kb:<id>` (kinds `knowledge` and `skill`), searched beside a user's when asked."""

    __tablename__ = "knowledge_bases"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    create_time: Mapped[int] = mapped_column(BigInteger)


class KnowledgeFile(Base):
    """A file of a knowledge base: its bytes kept until a job has parsed, chunked and indexed
    them (`status` processing → completed, or failed with `error`)."""

    __tablename__ = "knowledge_files"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(100))
    knowledgebase_id: Mapped[str] = mapped_column(ID, index=True)
    name: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(16))  # document | skill
    url: Mapped[str | None] = mapped_column(Text)  # fetched by the worker
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    task_id: Mapped[str] = mapped_column(ID)
    create_time: Mapped[int] = mapped_column(BigInteger)
    update_time: Mapped[int] = mapped_column(BigInteger)


class Usage(Base):
    """A project's requests in one hour (`hour`: its first epoch millisecond), summed over
    every gateway process: what the console's usage page shows."""

    __tablename__ = "usage"
    project_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    adds: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    searches: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    errors: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ConsoleAdmin(Base):
    """Who may sign in to the console (one admin, `admin`, who sees every project)."""

    __tablename__ = "console_admins"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    update_time: Mapped[int] = mapped_column(BigInteger)


class ConsoleSession(Base):
    """A console sign-in: the cookie holds the token, only its sha256 is stored; forms carry
    `csrf_token`. Signing out, a new password or the expiry ends it."""

    __tablename__ = "console_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    admin: Mapped[str] = mapped_column(String(100))
    csrf_token: Mapped[str] = mapped_column(String(64))
    create_time: Mapped[int] = mapped_column(BigInteger)
    expire_time: Mapped[int] = mapped_column(BigInteger)


class Webhook(Base):
    """An endpoint of a project that hears of its changes (shared/webhooks.py)."""

    __tablename__ = "webhooks"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(100), index=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(100))  # signs the deliveries (HMAC-SHA256)
    events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(200))
    create_time: Mapped[int] = mapped_column(BigInteger)


class WebhookDelivery(Base):
    """One event for one endpoint, written with the change it tells of: pending until the
    endpoint takes it (delivered) or the last attempt fails (failed, replayable). The id
    orders the deliveries of a subject (a memory, a task, a user)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_time"),
        Index("ix_webhook_deliveries_subject", "subject", "status"),
        Index("ix_webhook_deliveries_project", "project_id", "id"),
        Index("ix_webhook_deliveries_user", "project_id", "user_id"),
    )
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[str] = mapped_column(ID)
    webhook_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, fixed when the event happened
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_time: Mapped[int] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    create_time: Mapped[int] = mapped_column(BigInteger)
    deliver_time: Mapped[int | None] = mapped_column(BigInteger)
