"""The extraction pipeline: a job's messages → memories → SQL rows and Qdrant points.

A job may run twice (redelivery, outbox re-send): memory ids derive from the job id and the
job's memories are replaced as a whole, so a second run writes nothing twice.
"""

import logging
import uuid

from services.extractor import repository
from services.extractor.llm_extractor import extract_by_llm
from services.extractor.rules import extract_by_rules
from services.extractor.schemas import ExtractedMemory, Turn
from shared.clock import now_ms
from shared.config import get_settings
from shared.db.models import Memory, MemorySource, MemoryTag, Task
from shared.db.session import transaction
from shared.dead_letters import record_failure
from shared.embeddings import get_embedder
from shared.lexical import document_terms
from shared.memories import delete_by_ids
from shared.metrics import LAG, MEMORIES_WRITTEN
from shared.vector_store import IndexedMemory, get_memory_index

log = logging.getLogger(__name__)
NAMESPACE = uuid.UUID("0d7a4f6e-2b55-4a8e-8f3e-5c9d7e1a2b40")


def warm_up() -> None:
    """Load the models and open the store before the first job, not during it."""
    from shared.text import keywords

    get_embedder().embed_passages(["warm up"])
    keywords("预热 warm up")
    get_memory_index()


def extract(turns: list[Turn]) -> list[ExtractedMemory]:
    if get_settings().llm_enabled:
        return extract_by_llm(turns)
    return extract_by_rules(turns)


def _rows(task: Task, extracted: list[ExtractedMemory], now: int) -> list[Memory]:
    attrs = task.attributes or {}
    rows = []
    for index, item in enumerate(extracted):
        memory_id = str(uuid.uuid5(NAMESPACE, f"{task.id}:{index}"))
        tags = list(dict.fromkeys([*item.tags, *attrs.get("tags", [])]))
        memory = Memory(
            id=memory_id, project_id=task.project_id, user_id=task.user_id,
            conversation_id=task.conversation_id, agent_id=attrs.get("agent_id"),
            app_id=attrs.get("app_id"), task_id=task.id, memory_key=item.key,
            memory_value=item.value, memory_type="WorkingMemory", memory_time=item.memory_time,
            status="activated", confidence=item.confidence, tags=tags,
            info=attrs.get("info", {}), create_time=now, update_time=now,
        )
        memory.sources = [MemorySource(memory_id=memory_id, message_id=source, position=i)
                          for i, source in enumerate(item.source_ids)]
        memory.tag_rows = [MemoryTag(memory_id=memory_id, tag=tag) for tag in tags]
        rows.append(memory)
    return rows


def _indexed_text(memory: Memory) -> str:
    return f"{memory.memory_key}\n{memory.memory_value}\n{' '.join(memory.tags)}"


def _payload(memory: Memory) -> dict:
    return {
        "project_id": memory.project_id, "user_id": memory.user_id,
        "conversation_id": memory.conversation_id, "agent_id": memory.agent_id,
        "app_id": memory.app_id, "status": memory.status, "memory_type": memory.memory_type,
        "confidence": memory.confidence,
        "tags": memory.tags, "info": memory.info, "memory_time": memory.memory_time,
        "create_time": memory.create_time, "update_time": memory.update_time,
    }


def run_extraction(task_id: str) -> bool:
    """Returns whether this run wrote the job's memories (False: done before, or unknown)."""
    with transaction() as session:
        task = repository.lock_task(session, task_id)
        if task is None or task.status != "running":
            return False
        task.attempts += 1
        turns = [Turn(m.id, m.role, m.content, m.chat_time)
                 for m in repository.task_messages(session, task_id)]
    extracted = extract(turns)
    now = now_ms()
    index = get_memory_index()
    with transaction() as session:
        task = repository.lock_task(session, task_id)
        if task is None or task.status != "running":
            return False
        rows = _rows(task, extracted, now)
        vectors = (get_embedder().embed_passages([_indexed_text(m) for m in rows])
                   if rows else [])
        old_ids = repository.task_memory_ids(session, task_id)
        delete_by_ids(session, old_ids)
        session.add_all(rows)
        task.status, task.update_time, task.error = "completed", now, None
        # Index before commit: if indexing fails the job stays running and is retried; the
        # retriever ignores points whose rows are not committed.
        index.upsert([IndexedMemory(m.id, v, document_terms(_indexed_text(m)), _payload(m))
                      for m, v in zip(rows, vectors, strict=True)])
        stale = sorted(set(old_ids) - {m.id for m in rows})
    index.delete(stale)
    MEMORIES_WRITTEN.labels(task.project_id).inc(len(rows))
    LAG.observe(max(0.0, (now_ms() - task.create_time) / 1000))
    log.info("extracted", extra={"task_id": task_id, "memories": len(rows),
                                 "messages": len(turns)})
    return True


def mark_failed(task_id: str, error: str) -> None:
    with transaction() as session:
        task = repository.lock_task(session, task_id)
        if task is not None and task.status == "running":
            record_failure(session, task, error)
