"""New memories meet the user's existing ones: a duplicate is merged into the memory it
repeats (which, confirmed, becomes LongTermMemory); a newer fact that contradicts an older one
replaces it (the older is archived and points at its successor); the rest are added, profile
facts as UserMemory. Rules decide offline; an LLM decides when configured, falling back to
the rules on any bad answer. Nothing is deleted: an archived memory stays readable."""

import json
import logging
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ValidationError

from services.extractor.profile import contradicts, is_profile_fact
from shared.config import get_settings
from shared.db.models import Memory
from shared.embeddings import get_embedder
from shared.lexical import words
from shared.llm import chat

log = logging.getLogger(__name__)
NUMBER = re.compile(r"\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万]+")


@dataclass(frozen=True)
class Neighbour:
    memory: Memory
    cosine: float
    vector: np.ndarray


@dataclass(frozen=True)
class Decision:
    relation: Literal["new", "duplicate", "update"]
    memory_type: str
    target: Neighbour | None = None


def initial_type(memory: Memory, speaker: str) -> str:
    return ("UserMemory" if speaker == "user" and is_profile_fact(memory.memory_value)
            else "WorkingMemory")


def same_details(a: str, b: str) -> bool:
    """Embeddings barely see numbers and names ("第1本" vs "第2本"): a duplicate must also
    carry the same numbers and mostly the same words."""
    if NUMBER.findall(a) != NUMBER.findall(b):
        return False
    words_a, words_b = set(words(a)), set(words(b))
    union = words_a | words_b
    return not union or len(words_a & words_b) / len(union) >= 0.5


def decide_by_rules(memory: Memory, speaker: str, neighbours: list[Neighbour]) -> Decision:
    """A duplicate: the same text, or the embedder's paraphrase level with the same details.
    An update: the same attribute set to another value, by a statement that is not unrelated
    (above the embedder's level for unrelated text)."""
    embedder = get_embedder()
    kind = initial_type(memory, speaker)
    for neighbour in neighbours:
        old = neighbour.memory.memory_value
        if old == memory.memory_value or (neighbour.cosine >= embedder.duplicate
                                          and same_details(memory.memory_value, old)
                                          and not contradicts(memory.memory_value, old)):
            return Decision("duplicate", kind, neighbour)
    for neighbour in neighbours:
        if neighbour.cosine >= embedder.floor and contradicts(memory.memory_value,
                                                              neighbour.memory.memory_value):
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


def decide_by_llm(memories: list[Memory], speakers: list[str],
                  neighbours: list[list[Neighbour]]) -> list[Decision]:
    rules = [decide_by_rules(m, s, n) for m, s, n in zip(memories, speakers, neighbours,
                                                         strict=True)]
    items = []
    for number, (memory, near) in enumerate(zip(memories, neighbours, strict=True)):
        existing = "\n".join(f"  - id {n.memory.id}: {n.memory.memory_value}" for n in near)
        items.append(f"[{number}] {memory.memory_value}\n  existing:\n{existing or '  (none)'}")
    try:
        raw = chat([{"role": "user", "content": PROMPT.format(items="\n".join(items))}],
                   purpose="consolidation", json_output=True)
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


def decide(memories: list[Memory], speakers: list[str],
           neighbours: list[list[Neighbour]]) -> list[Decision]:
    if get_settings().llm_enabled and any(neighbours):
        return decide_by_llm(memories, speakers, neighbours)
    return [decide_by_rules(m, s, n) for m, s, n in zip(memories, speakers, neighbours,
                                                        strict=True)]
