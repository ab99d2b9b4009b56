"""New memories meet the user's existing ones: a duplicate is merged into the memory it
repeats (which, confirmed, becomes LongTermMemory); a newer fact that contradicts an older one
replaces it (the older is archived and points at its successor); the rest are added, profile
facts as UserMemory. Rules decide offline; an LLM decides when configured, falling back to
the rules on any bad answer. Nothing is deleted: an archived memory stays readable.

Facts are ordered by when they were said, not by when their jobs ran (jobs are retried, sent
again and run four at a time): of two contradicting statements the later one is current,
whichever job comes last. Jobs of one user consolidate one at a time (`UserLocks`), so two
running together cannot both miss each other."""

import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ValidationError
from sqlalchemy import text

from services.extractor.preferences import opposed
from services.extractor.profile import contradicts, is_profile_fact
from services.extractor.rules import normalize_time
from shared.db.models import Memory, Message
from shared.db.session import Database
from shared.lexical import words
from shared.llm import Llm
from shared.vector_store import PREFERENCES, TOOLS

log = logging.getLogger(__name__)
NUMBER = re.compile(r"\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万]+")


@dataclass(frozen=True)
class Neighbour:
    memory: Memory
    cosine: float
    vector: np.ndarray


@dataclass(frozen=True)
class Decision:
    # superseded: it contradicts a memory said after it, and becomes that memory's history
    relation: Literal["new", "duplicate", "update", "superseded"]
    memory_type: str
    target: Neighbour | None = None


def initial_type(value: str, speaker: str, kind: str | None = "fact") -> str:
    """A preference, or a profile fact the user stated, is UserMemory; a tool memory (what a
    tool once did stays true) LongTermMemory; the rest starts as WorkingMemory."""
    if kind in PREFERENCES:
        return "UserMemory"
    if kind in TOOLS:
        return "LongTermMemory"
    return "UserMemory" if speaker == "user" and is_profile_fact(value) else "WorkingMemory"


def same_details(a: str, b: str) -> bool:
    """Embeddings barely see numbers and names ("第1本" vs "第2本"): a duplicate must also
    carry the same numbers and mostly the same words."""
    if NUMBER.findall(a) != NUMBER.findall(b):
        return False
    words_a, words_b = set(words(a)), set(words(b))
    union = words_a | words_b
    return not union or len(words_a & words_b) / len(union) >= 0.5


@dataclass(frozen=True)
class CosineLevels:
    """The embedder's cosines: of unrelated text (floor), and of a duplicate."""

    floor: float
    duplicate: float


def decide_by_rules(
    memory: Memory, speaker: str, neighbours: list[Neighbour], levels: CosineLevels
) -> Decision:
    """A duplicate: the same text, or the embedder's paraphrase level with the same details.
    An update: the same attribute set to another value (a preference: the other stance on
    the same thing, preferences.py), by a statement that is not unrelated (above the
    embedder's level for unrelated text). Preferences are lasting facts about the user; a
    tool memory (what a tool did for a request) is lasting and never outdated."""
    preference, tool = memory.kind in PREFERENCES, memory.kind in TOOLS
    kind = initial_type(memory.memory_value, speaker, memory.kind)

    def contrary(newer: str, older: str) -> bool:
        if tool:
            return False  # what a tool did once stays true
        return contradicts(newer, older) or (preference and opposed(newer, older))

    for neighbour in neighbours:
        old = neighbour.memory.memory_value
        if old == memory.memory_value or (
            neighbour.cosine >= levels.duplicate
            and same_details(memory.memory_value, old)
            and not contrary(memory.memory_value, old)
        ):
            return Decision("duplicate", kind, neighbour)
    for neighbour in neighbours:
        if neighbour.cosine >= levels.floor and contrary(
            memory.memory_value, neighbour.memory.memory_value
        ):
            return Decision("update", kind, neighbour)
    return Decision("new", kind)


class LLMDecision(BaseModel):
    new: int
    relation: Literal["new", "duplicate", "update"]
    existing: str | None = None
    memory_type: Literal["WorkingMemory", "LongTermMemory", "UserMemory"]


class LLMDecisions(BaseModel):
    decisions: list[LLMDecision]


PROMPT = """New memories about a user, each with the user's existing memories most like it.
For each new memory decide:
- "duplicate": it states the same fact as one existing memory (give its id);
- "update": it changes or contradicts one existing memory, which is now out of date (give
  its id);
- "new": otherwise.
And its memory_type: "UserMemory" for lasting facts about who the user is (preferences,
family, job, home, health, contact), "LongTermMemory" for other lasting facts and plans,
"WorkingMemory" for passing details of this conversation.

{items}

Answer with JSON only: {{"decisions": [{{"new": 0, "relation": "new", "existing": null,
"memory_type": "WorkingMemory"}}]}}"""


def _by_rules(
    memories: list[Memory],
    speakers: list[str],
    neighbours: list[list[Neighbour]],
    levels: CosineLevels,
) -> list[Decision]:
    return [
        decide_by_rules(m, s, n, levels)
        for m, s, n in zip(memories, speakers, neighbours, strict=True)
    ]


def decide_by_llm(
    llm: Llm,
    memories: list[Memory],
    speakers: list[str],
    neighbours: list[list[Neighbour]],
    levels: CosineLevels,
) -> list[Decision]:
    rules = _by_rules(memories, speakers, neighbours, levels)
    items = []
    for number, (memory, near) in enumerate(zip(memories, neighbours, strict=True)):
        existing = "\n".join(f"  - id {n.memory.id}: {n.memory.memory_value}" for n in near)
        items.append(f"[{number}] {memory.memory_value}\n  existing:\n{existing or '  (none)'}")
    try:
        raw = llm.chat(
            [{"role": "user", "content": PROMPT.format(items="\n".join(items))}],
            purpose="consolidation",
            json_output=True,
        )
        answer = LLMDecisions.model_validate(json.loads(raw))
    except (ValueError, ValidationError, json.JSONDecodeError) as exc:
        log.warning("llm consolidation answer rejected", extra={"error": str(exc)[:300]})
        return rules
    except Exception as exc:
        log.warning("llm consolidation failed", extra={"error": str(exc)[:300]})
        return rules
    decisions = list(rules)
    for item in answer.decisions:
        if not 0 <= item.new < len(memories):
            continue
        by_id = {n.memory.id: n for n in neighbours[item.new]}
        if item.relation == "new":
            decisions[item.new] = Decision("new", item.memory_type)
        elif item.existing in by_id:
            decisions[item.new] = Decision(item.relation, item.memory_type, by_id[item.existing])
    return decisions


def decide(
    memories: list[Memory],
    speakers: list[str],
    neighbours: list[list[Neighbour]],
    messages: dict[str, Message],
    llm: Llm | None,
    levels: CosineLevels,
) -> list[Decision]:
    """`messages`: the job's own, by id (its new memories' sources)."""
    if llm is not None and any(neighbours):
        decisions = decide_by_llm(llm, memories, speakers, neighbours, levels)
    else:
        decisions = _by_rules(memories, speakers, neighbours, levels)
    return [_in_order(d, m, messages) for d, m in zip(decisions, memories, strict=True)]


def _in_order(decision: Decision, memory: Memory, messages: dict[str, Message]) -> Decision:
    """A statement older than the memory it contradicts (from a late or retried job) does not
    replace it."""
    if (
        decision.relation == "update"
        and decision.target is not None  # an update always has one
        and stated_at(memory, messages) < stated_at(decision.target.memory, messages)
    ):
        return replace(decision, relation="superseded")
    return decision


def said_at(message: Message) -> int:
    """When a message was said, in epoch ms: its chat_time, else when it was received."""
    try:
        said = datetime.strptime(normalize_time(message.chat_time) or "", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return message.create_time
    return int(said.replace(tzinfo=UTC).timestamp() * 1000)


def stated_at(memory: Memory, messages: dict[str, Message]) -> int:
    """When a memory was last stated: its latest message (a new memory's are in `messages`,
    not yet loaded with its sources)."""
    sent = [messages.get(s.message_id) or s.message for s in memory.sources]
    return max((said_at(m) for m in sent if m is not None), default=memory.create_time)


class UserLocks:
    """One job of a user at a time: in this process a lock per user (one of 64, by hash);
    across processes on PostgreSQL an advisory lock, held by a transaction of its own and
    released when it ends. SQLite serves one process only."""

    def __init__(self, db: Database, stripes: int = 64) -> None:
        self._db = db
        self._locks = [threading.Lock() for _ in range(stripes)]

    @contextmanager
    def held(self, project_id: str, user_id: str) -> Iterator[None]:
        key = hashlib.blake2b(f"{project_id}\0{user_id}".encode(), digest_size=8).digest()
        with self._locks[key[0] % len(self._locks)]:
            if self._db.dialect != "postgresql":
                yield
                return
            # Closing the connection rolls back: the lock is released.
            with self._db.engine.connect() as connection:
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"),
                    {"key": int.from_bytes(key, "big", signed=True)},
                )
                yield
