"""What every memory index offers, and the one place the search filter is composed.

Only what search filters and ranks on lives in a point's payload; memories are read from SQL.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from shared.filters import Condition, MemoryFilter

DENSE = "dense"
KEYWORD_FIELDS = ("project_id", "user_id", "conversation_id", "status", "memory_type",
                  "agent_id", "app_id", "tags")
INTEGER_FIELDS = ("create_time", "update_time")


@dataclass(frozen=True)
class IndexedMemory:
    id: str
    vector: np.ndarray
    payload: dict[str, Any]


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    conversation_id: str
    confidence: float


class MemoryWriter(Protocol):
    def upsert(self, items: list[IndexedMemory]) -> None: ...

    def delete(self, ids: list[str]) -> None: ...

    def close(self) -> None: ...


class MemoryIndex(MemoryWriter, Protocol):
    def search(self, vector: np.ndarray, project_id: str, user_id: str,
               flt: MemoryFilter | None, limit: int) -> list[Hit]: ...


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


def to_hit(point_id: Any, score: float, payload: dict[str, Any]) -> Hit:
    return Hit(str(point_id), float(score), payload["conversation_id"],
               float(payload.get("confidence", 0.0)))
