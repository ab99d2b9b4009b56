"""What every memory index offers, and the one place the search filter is composed.

A point holds two named vectors, `dense` (the embedding) and `lexical` (sparse word ids, IDF
weighted by Qdrant), and in its payload only what search filters and ranks on; memories are
read from SQL."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from shared.filters import Condition, MemoryFilter
from shared.lexical import Terms

DENSE = "dense"
LEXICAL = "lexical"
KEYWORD_FIELDS = ("project_id", "user_id", "conversation_id", "status", "memory_type",
                  "agent_id", "app_id", "tags")
INTEGER_FIELDS = ("create_time", "update_time")
RANKING_FIELDS = ["conversation_id", "confidence", "create_time"]


@dataclass(frozen=True)
class IndexedMemory:
    id: str
    vector: np.ndarray
    terms: Terms
    payload: dict[str, Any]


@dataclass(frozen=True)
class Candidate:
    """A memory found by either half of the search, with what ranking needs of it."""

    id: str
    vector: np.ndarray
    terms: frozenset[int]
    conversation_id: str
    confidence: float
    create_time: int


class MemoryWriter(Protocol):
    def upsert(self, items: list[IndexedMemory]) -> None: ...

    def delete(self, ids: list[str]) -> None: ...

    def close(self) -> None: ...


class MemoryIndex(MemoryWriter, Protocol):
    def candidates(self, vector: np.ndarray, terms: Terms, project_id: str, user_id: str,
                   flt: MemoryFilter | None, limit: int) -> list[Candidate]:
        """The `limit` nearest by embedding and the `limit` best by words, merged."""
        ...


@dataclass(frozen=True)
class FilterDialect:
    """How one Qdrant client spells a filter: its Filter, FieldCondition, MatchValue and
    range constructors."""

    filter: Callable[..., Any]
    field: Callable[..., Any]
    match: Callable[[Any], Any]
    range: Callable[..., Any]

    def condition(self, cond: Condition) -> Any:
        if cond.op in ("gt", "gte", "lt", "lte"):
            return self.field(key=cond.field, range=self.range(**{cond.op: cond.value}))
        if isinstance(cond.value, float):  # Qdrant matches str, int and bool exactly
            return self.field(key=cond.field, range=self.range(gte=cond.value, lte=cond.value))
        return self.field(key=cond.field, match=self.match(cond.value))

    def search_filter(self, project_id: str, user_id: str, flt: MemoryFilter | None) -> Any:
        must = [self.field(key="project_id", match=self.match(project_id)),
                self.field(key="user_id", match=self.match(user_id)),
                self.field(key="status", match=self.match("activated"))]
        if flt is not None:
            conditions = [self.condition(c) for c in flt.conditions]
            must.append(self.filter(must=conditions) if flt.mode == "and"
                        else self.filter(should=conditions))
        return self.filter(must=must)


def merge_candidates(points: list[Any], sparse_indices: Callable[[Any], list[int]]
                     ) -> list[Candidate]:
    """Points of both halves (with vectors and ranking payload) as unique candidates."""
    seen: dict[str, Candidate] = {}
    for point in points:
        key = str(point.id)
        if key in seen:
            continue
        vectors, payload = point.vector, point.payload
        seen[key] = Candidate(
            id=key, vector=np.asarray(vectors[DENSE], dtype=np.float32),
            terms=frozenset(sparse_indices(vectors.get(LEXICAL))),
            conversation_id=payload["conversation_id"],
            confidence=float(payload.get("confidence", 0.0)),
            create_time=int(payload.get("create_time", 0)))
    return list(seen.values())
