"""Knowledge bases of one project: created, deleted with everything in them, and files added
(queued as jobs, through the same outbox and workers as messages), listed and deleted."""

import base64
import binascii
import math
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from services.extractor.knowledge import FORMATS, suffix
from services.gateway.knowledge.schemas import (
    CreateKnowledgebaseRequest,
    GetKnowledgebaseFileRequest,
    KnowledgeFileIn,
)
from services.gateway.memories.search_client import Retriever
from shared.clock import now_ms
from shared.config import Settings
from shared.db.models import Job, KnowledgeBase, KnowledgeFile, Memory
from shared.db.session import Database
from shared.errors import InputTooLarge, InvalidParameter, echo
from shared.memories import delete_by_ids, lock_out_jobs
from shared.outbox import publish
from shared.queue import JobQueue
from shared.vector_store import knowledge_user


@dataclass(frozen=True)
class Upload:
    """A file as received: its bytes, or the URL a worker fetches."""

    name: str
    type: str
    data: bytes | None
    url: str | None


def create(db: Database, project_id: str, request: CreateKnowledgebaseRequest) -> dict[str, Any]:
    knowledgebase = KnowledgeBase(
        id=str(uuid.uuid4()),
        project_id=project_id,
        name=request.knowledgebase_name,
        description=request.knowledgebase_description,
        create_time=now_ms(),
    )
    with db.transaction() as session:
        session.add(knowledgebase)
    return {"id": knowledgebase.id}


def _knowledgebase(session: Session, project_id: str, knowledgebase_id: str) -> KnowledgeBase:
    found = session.get(KnowledgeBase, knowledgebase_id)
    if found is None or found.project_id != project_id:
        raise InvalidParameter(
            "knowledgebase_id", f"{echo(knowledgebase_id)}: no such knowledge base here"
        )
    return found


def delete(db: Database, retriever: Retriever, project_id: str, knowledgebase_id: str) -> None:
    """The knowledge base, its files, and their chunks in SQL and in the index."""
    with db.transaction() as session:
        lock_out_jobs(session, project_id)
        knowledgebase = _knowledgebase(session, project_id, knowledgebase_id)
        owner = knowledge_user(knowledgebase_id)
        ids = list(
            session.scalars(
                select(Memory.id).where(Memory.project_id == project_id, Memory.user_id == owner)
            )
        )
        delete_by_ids(session, ids)
        for row in session.scalars(
            select(KnowledgeFile).where(KnowledgeFile.knowledgebase_id == knowledgebase_id)
        ):
            session.delete(row)
        # Users' memories shared with it stay theirs, shared with it no more. Their index
        # points keep the audience: no search can name a knowledge base that is gone.
        for memory in session.scalars(
            select(Memory).where(
                Memory.project_id == project_id,
                cast(Memory.shared_with, String).like(f'%"{owner}"%'),
            )
        ):
            memory.shared_with = [a for a in memory.shared_with if a != owner]
        session.delete(knowledgebase)
    retriever.delete_user(project_id, owner)


def received(file: KnowledgeFileIn) -> Upload:
    """A JSON file entry: a `data:` URL decoded, an http(s) URL kept for the worker."""
    content = file.content.strip()
    if content.startswith("data:"):
        head, _, payload = content.partition(",")
        try:
            data = (
                base64.b64decode(payload, validate=True)
                if head.endswith(";base64")
                else unquote_to_bytes(payload)
            )
        except (binascii.Error, ValueError):
            raise InvalidParameter("file.content", f"{echo(file.name)}: bad base64") from None
        return Upload(file.name, file.type, data, None)
    if content.startswith(("http://", "https://")):
        return Upload(file.name, file.type, None, content)
    raise InvalidParameter(
        "file.content", f"{echo(file.name)}: a data: URL (base64) or an http(s) URL"
    )


def add_files(
    db: Database,
    queue: JobQueue,
    settings: Settings,
    project_id: str,
    knowledgebase_id: str,
    uploads: list[Upload],
) -> list[dict[str, Any]]:
    """Each file stored with a job that indexes it; answered with the files' ids and
    `processing` (get/knowledgebase-file tells when they are done)."""
    if settings.max_kb_files_per_add and len(uploads) > settings.max_kb_files_per_add:
        raise InputTooLarge(
            f"{len(uploads)} files; the limit is {settings.max_kb_files_per_add} an add"
        )
    for upload in uploads:
        if not suffix(upload.name):
            raise InvalidParameter(
                "file.name", f"{echo(upload.name)}: supported formats are {', '.join(FORMATS)}"
            )
        if upload.type == "skill" and suffix(upload.name) not in (".md", ".markdown", ".txt"):
            raise InvalidParameter("file.type", f"{echo(upload.name)}: a skill is markdown")
        if upload.data is not None and len(upload.data) > settings.max_kb_file_bytes:
            raise InputTooLarge(
                f"{echo(upload.name)}: {len(upload.data)} bytes; the limit is "
                f"{settings.max_kb_file_bytes}"
            )
    now = now_ms()
    with db.transaction() as session:
        _knowledgebase(session, project_id, knowledgebase_id)
        rows = []
        for upload in uploads:
            file_id, task_id = str(uuid.uuid4()), str(uuid.uuid4())
            rows.append(
                KnowledgeFile(
                    id=file_id,
                    project_id=project_id,
                    knowledgebase_id=knowledgebase_id,
                    name=upload.name,
                    type=upload.type,
                    url=upload.url,
                    content=upload.data,
                    size=len(upload.data or b""),
                    status="processing",
                    chunks=0,
                    task_id=task_id,
                    create_time=now,
                    update_time=now,
                )
            )
            session.add(
                Job(
                    id=task_id,
                    project_id=project_id,
                    user_id=knowledge_user(knowledgebase_id),
                    conversation_id=file_id,
                    kind="kb_file",
                    status="running",
                    attributes={},
                    create_time=now,
                    update_time=now,
                    dispatch_time=now,
                )
            )
        session.add_all(rows)
        session.flush()
        shown = [_file(row) for row in rows]
    publish(db, queue, [row.task_id for row in rows])  # else the relay sends them
    return shown


def _file(row: KnowledgeFile) -> dict[str, Any]:
    return {
        "id": row.id,
        "knowledgebase_id": row.knowledgebase_id,
        "name": row.name,
        "type": row.type,
        "url": row.url,
        "size": row.size,
        "status": row.status,
        "error": row.error,
        "chunks": row.chunks,
        "task_id": row.task_id,
        "create_time": row.create_time,
        "update_time": row.update_time,
    }


def get_files(
    db: Database, project_id: str, request: GetKnowledgebaseFileRequest
) -> dict[str, Any]:
    scope = [KnowledgeFile.project_id == project_id]
    if request.file_ids is not None:
        scope.append(KnowledgeFile.id.in_(request.file_ids))
    else:
        scope.append(KnowledgeFile.knowledgebase_id == request.knowledgebase_id)
    if request.type is not None:
        scope.append(KnowledgeFile.type == request.type)
    with db.session() as session:
        if request.knowledgebase_id is not None:
            _knowledgebase(session, project_id, request.knowledgebase_id)
        total = session.scalar(select(func.count()).select_from(KnowledgeFile).where(*scope)) or 0
        rows = session.scalars(
            select(KnowledgeFile)
            .where(*scope)
            .order_by(KnowledgeFile.create_time, KnowledgeFile.id)
            .offset((request.page - 1) * request.page_size)
            .limit(request.page_size)
        )
        files = [_file(row) for row in rows]
    return {
        "file_detail_list": files,
        "total": total,
        "page": request.page,
        "page_size": request.page_size,
        "pages": math.ceil(total / request.page_size),
    }


def delete_files(db: Database, retriever: Retriever, project_id: str, file_ids: list[str]) -> None:
    """The files and their chunks (a job still indexing one finds it gone and writes nothing)."""
    with db.transaction() as session:
        lock_out_jobs(session, project_id)
        rows = list(
            session.scalars(
                select(KnowledgeFile).where(
                    KnowledgeFile.project_id == project_id, KnowledgeFile.id.in_(file_ids)
                )
            )
        )
        if not rows:
            raise InvalidParameter("file_ids", f"none of {echo(file_ids[:5])} exists")
        ids = list(
            session.scalars(
                select(Memory.id).where(
                    Memory.project_id == project_id,
                    Memory.user_id.in_({knowledge_user(r.knowledgebase_id) for r in rows}),
                    Memory.conversation_id.in_([r.id for r in rows]),
                )
            )
        )
        delete_by_ids(session, ids)
        for row in rows:
            session.delete(row)
    retriever.delete(ids)
