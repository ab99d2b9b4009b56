"""The extraction pipeline: a job's messages → memories → SQL rows and Qdrant points.

A job may be delivered twice (redelivery, outbox re-send): its memories, and what they archive
or merge, are committed in the transaction that marks it completed, and memory ids derive from
the job id, so a second delivery finds it completed and writes nothing twice.
"""

import logging
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.extractor import profile_values, repository
from services.extractor.consolidation import CosineLevels, Decision, Neighbour, UserLocks, decide
from services.extractor.knowledge import Unreadable, chunks, fetch, skill_of, text_of
from services.extractor.llm_extractor import extract_by_llm
from services.extractor.profile import ATTRIBUTION, remainder
from services.extractor.rules import extract_by_rules, title
from services.extractor.schemas import ExtractedMemory, Turn
from services.extractor.tools import tool_memories
from shared.clock import now_ms
from shared.db.models import Job, KnowledgeBase, KnowledgeFile, Memory, MemorySource, MemoryTag
from shared.dead_letters import record_failure
from shared.lexical import Terms, document_terms, spelled_date
from shared.llm import Llm
from shared.memories import (
    copy_of,
    deleted_before_written,
    hold_off_deletes,
    load_memories,
)
from shared.metrics import LAG, MEMORIES_WRITTEN, project_label
from shared.outbox import take_lease
from shared.runtime import Runtime
from shared.text import language
from shared.vector_store import (
    KNOWLEDGE,
    PREFERENCES,
    PUBLIC,
    SKILLS,
    IndexedMemory,
    MemoryIndex,
    candidates,
    kind_group,
    knowledge_user,
    knowledgebase_of,
)
from shared.webhooks import Event, emit, memory_event, task_event

log = logging.getLogger(__name__)
NAMESPACE = uuid.UUID("0d7a4f6e-2b55-4a8e-8f3e-5c9d7e1a2b40")
NEIGHBOURS = 8  # existing memories a new one is compared with


def extract(turns: list[Turn], llm: Llm | None) -> list[ExtractedMemory]:
    """Facts and preferences (by the LLM, else the rules), then the tool calls' memories."""
    said = extract_by_llm(llm, turns) if llm is not None else extract_by_rules(turns)
    return said + tool_memories(turns)


def _rows(
    job: Job, extracted: list[ExtractedMemory], audiences: list[str], now: int
) -> list[Memory]:
    """The job's memories; `audiences`: who else the add let find them (its facts and tool
    memories; a user's preferences are about that user and stay theirs)."""
    attrs = job.attributes or {}
    rows = []
    for index, item in enumerate(extracted):
        memory_id = str(uuid.uuid5(NAMESPACE, f"{job.id}:{index}"))
        tags = list(dict.fromkeys([*item.tags, *attrs.get("tags", [])]))
        memory = Memory(
            id=memory_id,
            project_id=job.project_id,
            user_id=job.user_id,
            conversation_id=job.conversation_id,
            agent_id=attrs.get("agent_id"),
            app_id=attrs.get("app_id"),
            task_id=job.id,
            memory_key=item.key,
            memory_value=item.value,
            memory_type="WorkingMemory",
            memory_time=item.memory_time,
            status="activated",
            confidence=item.confidence,
            tags=tags,
            info=attrs.get("info", {}),
            create_time=now,
            update_time=now,
            subject=item.subject,
            context=item.context,
            kind=item.kind,
            shared_with=[] if item.kind in PREFERENCES else audiences,
        )
        memory.sources = [
            MemorySource(memory_id=memory_id, message_id=source, position=i)
            for i, source in enumerate(item.source_ids)
        ]
        memory.tag_rows = [MemoryTag(memory_id=memory_id, tag=tag) for tag in tags]
        rows.append(memory)
    return rows


def _indexed_text(memory: Memory) -> str:
    """What the embedding is made of: the memory's text. Its context would add nothing there
    (LoCoMo recall@10 the same with or without) and triple the cost of e5."""
    return memory.memory_value


def _lexical_text(memory: Memory) -> str:
    """What the words come from: the memory, its title and tags, the turns around it
    (LoCoMo recall@10 0.76 → 0.82 with the question a statement answers and the reply it
    got), and when it was said, spelled as people ask ("in May 2023")."""
    return "\n".join(
        part
        for part in (
            memory.memory_key,
            memory.memory_value,
            " ".join(memory.tags),
            memory.context,
            spelled_date(memory.memory_time),
        )
        if part
    )


def _payload(memory: Memory) -> dict[str, Any]:
    return {
        "project_id": memory.project_id,
        "user_id": memory.user_id,
        "conversation_id": memory.conversation_id,
        "agent_id": memory.agent_id,
        "app_id": memory.app_id,
        "status": memory.status,
        "memory_type": memory.memory_type,
        "confidence": memory.confidence,
        "tags": memory.tags,
        "info": memory.info,
        "memory_time": memory.memory_time,
        "create_time": memory.create_time,
        "update_time": memory.update_time,
        "subject": memory.subject,
        "kind": memory.kind,
        "shared_with": memory.shared_with,
    }


class Extractor:
    """What a worker runs: jobs' extraction over its process's runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.user_locks = UserLocks(runtime.db)

    def warm_up(self) -> None:
        """Load the models and open the store before the first job, not during it."""
        from shared.text import keywords

        self.runtime.embedder.embed_passages(["warm up"])
        keywords("预热 warm up")
        self.runtime.index  # noqa: B018  # opened now, not by the first job

    def mark_failed(self, task_id: str, error: str) -> None:
        with self.runtime.db.transaction() as session:
            job = repository.lock_job(session, task_id)
            if job is not None and job.status == "running":
                record_failure(session, job, error)

    def run(self, task_id: str) -> bool:
        """Returns whether this run wrote the job's memories (False: done before, or unknown).

        Extraction, embedding and the comparison with existing memories happen outside any
        write transaction; only the final writes hold one, briefly, so adds are not kept
        waiting."""
        runtime = self.runtime
        db, index, embedder, settings = (
            runtime.db,
            runtime.index,
            runtime.embedder,
            runtime.settings,
        )
        now = now_ms()
        with db.transaction() as session:
            job = repository.lock_job(session, task_id)
            if (
                job is None
                or job.status != "running"
                or not take_lease(job, now, settings.outbox_redrive_after)
            ):
                return False  # done, or running on another worker now
            job.attempts += 1
            edited = list((job.attributes or {}).get("memory_ids", []))
            audiences = _live(session, job)
            messages = {m.id: m for m in repository.job_messages(session, task_id)}
            turns = [
                Turn(m.id, m.role, m.content, m.chat_time, m.tool_calls, m.tool_call_id)
                for m in messages.values()
            ]
        if job.kind == "update":
            return self._reindex(task_id, job.project_id, edited)
        if job.kind == "kb_file":
            return self._index_file(task_id, job.project_id, job.conversation_id)
        extracted = extract(turns, runtime.llm)
        rows = _rows(job, extracted, audiences, now)
        texts = [_indexed_text(m) for m in rows]
        vectors: np.ndarray | list[np.ndarray] = embedder.embed_passages(texts) if rows else []
        terms = {m.id: document_terms(_lexical_text(m)) for m in rows}
        levels = CosineLevels(embedder.floor, embedder.duplicate)
        # Two jobs of one user must each see the other's memories: one at a time, from the
        # lookup of neighbours to the commit.
        with self.user_locks.held(job.project_id, job.user_id):
            with db.session() as session:
                neighbours = [
                    _neighbours(session, index, job, m, v, terms[m.id])
                    for m, v in zip(rows, vectors, strict=True)
                ]
            speakers = [e.speaker for e in extracted]
            decisions = decide(rows, speakers, neighbours, messages, runtime.llm, levels)
            rests = _remainders(job, rows, decisions, now)
            rest_vectors: np.ndarray | list[np.ndarray] = (
                embedder.embed_passages([_indexed_text(m) for m in rests.values()]) if rests else []
            )
            with db.transaction() as session:
                # Before the job row: an erasure takes the delete lock, then the user's jobs.
                hold_off_deletes(session, job.project_id)
                job = repository.lock_job(session, task_id)
                if job is None or job.status != "running":
                    return False  # done by another run, or erased with its user
                gone = deleted_before_written(session, job.project_id, job.create_time, rows)
                if gone:  # deleted while the job waited: a delete wins over an earlier job
                    kept = [i for i, m in enumerate(rows) if m.id not in gone]
                    rows = [rows[i] for i in kept]
                    vectors = [vectors[i] for i in kept]
                    decisions = [decisions[i] for i in kept]
                written, archived, merged = _apply(
                    session,
                    rows,
                    vectors,
                    decisions,
                    {old: (m, v) for (old, m), v in zip(rests.items(), rest_vectors, strict=True)},
                    now,
                )
                said = " ".join(t.content for t in turns if t.role == "user")
                profile_values.fill(
                    session,
                    job.project_id,
                    job.user_id,
                    [m for m, _ in written + merged],
                    archived,
                    language(said) if said.strip() else None,
                    now,
                )
                job.status, job.update_time, job.error = "completed", now, None
                emit(
                    session,
                    job.project_id,
                    lambda: [
                        *(memory_event("created", m) for m, _ in written),
                        *(memory_event("updated", m) for m, _ in merged),
                        *(memory_event("archived", old) for old in _rows_of(session, archived)),
                        completed(job),
                    ],
                )
                job.dispatch_time = now_ms()  # the lease ends
                # Index before commit: if indexing fails the job stays running and is
                # retried; the retriever ignores points whose rows are not committed.
                index.upsert(
                    _indexed(
                        [m for m, _ in written + merged], [v for _, v in written + merged], terms
                    )
                )
        index.delete(archived)
        label = project_label(job.project_id, settings.metrics_project_labels)
        MEMORIES_WRITTEN.labels(label).inc(len(written))
        LAG.observe(max(0.0, (now_ms() - job.create_time) / 1000))
        log.info(
            "extracted",
            extra={
                "task_id": task_id,
                "memories": len(written),
                "merged": len(merged),
                "archived": len(archived),
                "messages": len(turns),
            },
        )
        return True

    def _index_file(self, task_id: str, project_id: str, file_id: str) -> bool:
        """A knowledge base file read (fetched first when it came as a URL), cut into chunks
        (a skill: one), embedded and indexed, all committed with the file's status in one
        transaction: a file is completed with every chunk searchable, or failed with the
        reason and nothing of it indexed."""
        runtime, settings = self.runtime, self.runtime.settings
        with runtime.db.session() as session:
            row = session.get(KnowledgeFile, file_id)
            found = row and (row.name, row.type, row.url, row.content, row.knowledgebase_id)
        rows: list[Memory] = []
        error = None
        if found:
            name, kind, url, data, knowledgebase_id = found
            now = now_ms()
            try:
                if data is None and url:
                    data = fetch(
                        url,
                        settings.allow_private_urls,
                        settings.max_kb_file_bytes,
                        settings.kb_fetch_timeout,
                    )
                rows = knowledge_rows(
                    task_id, project_id, knowledgebase_id, file_id, name, kind, data or b"", now
                )
            except (Unreadable, httpx.HTTPError) as exc:
                error = (
                    f"{type(exc).__name__}: {exc}" if isinstance(exc, httpx.HTTPError) else str(exc)
                )
        vectors: np.ndarray | list[np.ndarray] = (
            runtime.embedder.embed_passages([_indexed_text(m) for m in rows]) if rows else []
        )
        with runtime.db.transaction() as session:
            hold_off_deletes(session, project_id)
            job = repository.lock_job(session, task_id)
            if job is None or job.status != "running":
                return False
            row = session.get(KnowledgeFile, file_id)  # None: deleted meanwhile
            if row is not None:
                row.status, row.error, row.update_time = (
                    ("failed", error, now_ms()) if error else ("completed", None, now_ms())
                )
                if not error:
                    session.add_all(rows)
                    row.chunks, row.content = len(rows), None  # the chunks hold the text
            job.status, job.update_time, job.error = "completed", now_ms(), None
            job.dispatch_time = now_ms()
            emit(session, project_id, lambda: [completed(job)])
            if row is not None and not error:
                runtime.index.upsert(_indexed(rows, vectors))
        log.info("indexed file", extra={"task_id": task_id, "chunks": len(rows), "error": error})
        return True

    def _reindex(self, task_id: str, project_id: str, ids: list[str]) -> bool:
        """An edited memory's index point made again from its row: embedded if its text is
        current, removed if it is archived. A row edited again meanwhile is left to the job
        of that edit, so the index never goes back to an older text."""
        db, index = self.runtime.db, self.runtime.index
        with db.session() as session:
            read = load_memories(session, project_id, ids)
        current = [m for m in read.values() if m.status == "activated"]
        texts = [_indexed_text(m) for m in current]
        vectors: np.ndarray | list[np.ndarray] = (
            self.runtime.embedder.embed_passages(texts) if texts else []
        )
        with db.transaction() as session:
            hold_off_deletes(session, project_id)
            job = repository.lock_job(session, task_id)
            if job is None or job.status != "running":
                return False
            fresh = load_memories(session, project_id, ids)
            kept = [
                (m, v)
                for m, v in zip(current, vectors, strict=True)
                if m.id in fresh and fresh[m.id].update_time == m.update_time
            ]
            job.status, job.update_time, job.error = "completed", now_ms(), None
            job.dispatch_time = now_ms()
            emit(session, project_id, lambda: [completed(job)])
            index.upsert(_indexed([m for m, _ in kept], [v for _, v in kept]))
        index.delete([m.id for m in read.values() if m.status != "activated"])
        return True


def completed(job: Job) -> Event:
    return task_event("completed", job.id, job.user_id, job.kind, None)


def _rows_of(session: Session, ids: list[str]) -> list[Memory]:
    """Rows the session holds already (those `_apply` archived)."""
    return [m for m in (session.get(Memory, i) for i in ids) if m is not None]


def _live(session: Session, job: Job) -> list[str]:
    """The audiences the job's add shared with, less knowledge bases deleted since."""
    audiences: list[str] = list((job.attributes or {}).get("shared_with", []))
    named = [k for k in map(knowledgebase_of, audiences) if k]
    if not named:
        return audiences
    live = set(
        session.scalars(
            select(KnowledgeBase.id).where(
                KnowledgeBase.project_id == job.project_id, KnowledgeBase.id.in_(named)
            )
        )
    )
    return [a for a in audiences if knowledgebase_of(a) in live or a == PUBLIC]


def _neighbours(
    session: Session,
    index: MemoryIndex,
    job: Job,
    memory: Memory,
    vector: np.ndarray,
    terms: Terms,
) -> list[Neighbour]:
    """The user's memories of the same kind (a fact's facts, a preference's preferences, a
    tool memory's tool memories) most like `memory`."""
    kinds = kind_group(memory.kind)
    found = candidates(
        index, vector, terms, job.project_id, job.user_id, None, limit=NEIGHBOURS, kinds=kinds
    )
    rows = load_memories(session, job.project_id, [c.id for c in found])
    near = [
        Neighbour(rows[c.id], float(c.vector @ vector), c.vector)
        for c in found
        if c.id in rows and rows[c.id].status == "activated" and c.vector is not None
    ]
    return sorted(near, key=lambda n: -n.cosine)[:NEIGHBOURS]


def _remainders(
    job: Job, rows: list[Memory], decisions: list[Decision], now: int
) -> dict[str, Memory]:
    """For each memory an update makes outdated, what of it still holds, as a memory of its
    own (its sources, times and tags), by the outdated memory's id: "…每周跑四十公里，去年跑过
    一次半马…" updated by "现在每周只跑二十公里" keeps "去年跑过一次半马…" findable."""
    rests: dict[str, Memory] = {}
    for memory, decision in zip(rows, decisions, strict=True):
        if decision.relation != "update" or decision.target is None:
            continue
        old = decision.target.memory
        value = remainder(memory.memory_value, old.memory_value)
        if value is None:
            continue
        rest_id = str(uuid.uuid5(NAMESPACE, f"{job.id}:rest:{old.id}"))
        rest = copy_of(
            old,
            rest_id,
            memory_key=title([ATTRIBUTION.sub("", value)], language(value)),
            memory_value=value,
            status="activated",
            superseded_by=None,
            update_time=now,
        )
        rests[old.id] = rest
    return rests


def _apply(
    session: Session,
    rows: list[Memory],
    vectors: Iterable[np.ndarray],
    decisions: list[Decision],
    rests: dict[str, tuple[Memory, np.ndarray]],
    now: int,
) -> tuple[list[tuple[Memory, np.ndarray]], list[str], list[tuple[Memory, np.ndarray]]]:
    """Writes the decisions (an outdated memory's remainder, in `rests` by the id it is
    derived from, beside its update); returns (memory, vector) pairs written, ids archived
    and (memory, vector) pairs merged into."""
    written: list[tuple[Memory, np.ndarray]] = []
    archived: list[str] = []
    merged: list[tuple[Memory, np.ndarray]] = []
    for memory, vector, decision in zip(rows, vectors, decisions, strict=True):
        memory.memory_type = decision.memory_type
        # The target as it is now: another job may have archived it since it was compared.
        neighbour = decision.target
        target = session.get(Memory, neighbour.memory.id) if neighbour is not None else None
        if target is not None and target.status != "activated":
            target = None
        if decision.relation == "duplicate" and neighbour is not None and target is not None:
            _merge(target, memory, now)
            merged.append((target, neighbour.vector))
            continue
        if decision.relation == "superseded" and target is not None:
            # Said before the memory it contradicts (a late or retried job): its history.
            memory.status, memory.superseded_by = "archived", target.id
        session.add(memory)
        written.append((memory, vector))
        if decision.relation == "update" and target is not None:
            target.status, target.superseded_by, target.update_time = "archived", memory.id, now
            archived.append(target.id)
            rest = rests.get(target.id)
            if rest is not None:
                session.add(rest[0])
                written.append(rest)
    return written, archived, merged


def _merge(existing: Memory, duplicate: Memory, now: int) -> None:
    """The fact was said again: the memory it repeats gains the new sources and tags, and,
    confirmed, lasts (WorkingMemory → LongTermMemory)."""
    known = {s.message_id for s in existing.sources}
    position = len(existing.sources)
    for source in duplicate.sources:
        if source.message_id not in known:
            existing.sources.append(
                MemorySource(memory_id=existing.id, message_id=source.message_id, position=position)
            )
            position += 1
    for tag in duplicate.tags:
        if tag not in existing.tags:
            existing.tags = [*existing.tags, tag]
            existing.tag_rows.append(MemoryTag(memory_id=existing.id, tag=tag))
    if existing.memory_type == "WorkingMemory":
        existing.memory_type = "LongTermMemory"
    # Said again by an add that shares it: shared with whom that add allowed too.
    existing.shared_with = list(dict.fromkeys([*existing.shared_with, *duplicate.shared_with]))
    existing.update_time = now


def _indexed(
    memories: list[Memory],
    vectors: Iterable[np.ndarray],
    known_terms: dict[str, Terms] | None = None,
) -> list[IndexedMemory]:
    """Index points; words are segmented again only for memories whose text changed (merged
    into) or that were not segmented in this run."""
    known_terms = known_terms or {}
    return [
        IndexedMemory(
            m.id,
            np.asarray(v),
            known_terms.get(m.id) or document_terms(_lexical_text(m)),
            _payload(m),
        )
        for m, v in zip(memories, vectors, strict=True)
    ]


def knowledge_rows(
    task_id: str,
    project_id: str,
    knowledgebase_id: str,
    file_id: str,
    name: str,
    kind: str,
    data: bytes,
    now: int,
) -> list[Memory]:
    """The file's memories: a document's chunks (kind knowledge), or a skill (kind skill, its
    name the title, its description and procedure the text)."""
    text = text_of(name, data)
    if kind == "skill":
        skill = skill_of(name, text)
        pieces = [(skill.name, f"{skill.name}: {skill.description}\n\n{skill.body}".strip())]
    else:
        found = chunks(text)
        pieces = [(f"{name} ({i}/{len(found)})", c) for i, c in enumerate(found, 1)]
    if not pieces:
        raise Unreadable(f"{name}: no text in it")
    return [
        Memory(
            id=str(uuid.uuid5(NAMESPACE, f"{task_id}:{i}")),
            project_id=project_id,
            user_id=knowledge_user(knowledgebase_id),
            conversation_id=file_id,
            task_id=task_id,
            memory_key=title[:200],
            memory_value=value,
            memory_type="LongTermMemory",
            kind=SKILLS[0] if kind == "skill" else KNOWLEDGE[0],
            status="activated",
            confidence=1.0,
            tags=[name[:200]],
            info={"knowledgebase_id": knowledgebase_id, "file_id": file_id, "file_name": name},
            shared_with=[],
            create_time=now,
            update_time=now,
            context="",
            sources=[],
            tag_rows=[
                MemoryTag(memory_id=str(uuid.uuid5(NAMESPACE, f"{task_id}:{i}")), tag=name[:200])
            ],
        )
        for i, (title, value) in enumerate(pieces)
    ]
