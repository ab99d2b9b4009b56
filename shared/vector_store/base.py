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
KEYWORD_FIELDS = (
    "project_id",
    "user_id",
    "conversation_id",
    "status",
    "memory_type",
    "kind",
    "agent_id",
    "app_id",
    "tags",
    "shared_with",
)
INTEGER_FIELDS = ("create_time", "update_time")
RANKING_FIELDS = ["conversation_id", "confidence", "create_time", "subject"]
# The kinds of memory other than facts (shared/memories.py). Facts are the points of none of
# them: points written before kinds existed carry no kind and are facts.
PREFERENCES = ("explicit_preference", "implicit_preference")
TOOLS = ("tool",)
KNOWLEDGE = ("knowledge",)  # a knowledge base's chunks (its user: knowledge_user(id))
SKILLS = ("skill",)
OTHER_KINDS = PREFERENCES + TOOLS + KNOWLEDGE + SKILLS


PUBLIC = "public"  # the audience of a project's public memory (Memory.shared_with)


def knowledge_user(knowledgebase_id: str) -> str:
    """The user a knowledge base's chunks and skills belong to in the index and in SQL, and
    the audience (Memory.shared_with) of the memories shared with it."""
    return f"kb:{knowledgebase_id}"


def knowledgebase_of(owner: str) -> str | None:
    """The knowledge base a `knowledge_user` (or audience) names; None for anything else."""
    return owner[3:] if owner.startswith("kb:") else None


def kind_group(kind: str | None) -> tuple[str, ...] | None:
    """The kinds a memory of `kind` is compared and listed with (None: facts)."""
    return next((group for group in (PREFERENCES, TOOLS, KNOWLEDGE, SKILLS) if kind in group), None)


@dataclass(frozen=True)
class IndexedMemory:
    id: str
    vector: np.ndarray
    terms: Terms
    payload: dict[str, Any]


@dataclass(frozen=True)
class Query:
    """One request to the index: the nearest by embedding (`by` a vector) or the best by words
    (`by` Terms, scored BM25), among the user's activated memories of `kinds` (None: facts),
    or only among `ids`; the hits with their embeddings, or without (`vectors` False: their
    words only; making Python arrays of 384 floats was most of a search's index time)."""

    by: np.ndarray | Terms
    limit: int
    ids: list[str] | None = None
    kinds: tuple[str, ...] | None = None
    vectors: bool = True


@dataclass(frozen=True)
class Candidate:
    """A memory found by the index, with what ranking needs of it and the score of the query
    that found it (cosine or BM25)."""

    id: str
    vector: np.ndarray | None  # None when the query asked for none
    terms: frozenset[int]
    conversation_id: str
    confidence: float
    create_time: int
    subject: str | None
    score: float


class MemoryWriter(Protocol):
    def upsert(self, items: list[IndexedMemory]) -> None: ...

    def delete(self, ids: list[str]) -> None: ...

    def delete_user(self, project_id: str, user_id: str) -> None:
        """Every point of the user, whether SQL still knows it or not (an erasure)."""
        ...

    def close(self) -> None: ...


class MemoryIndex(MemoryWriter, Protocol):
    def query(
        self,
        queries: list[Query],
        project_id: str,
        user_id: str | list[str],
        flt: MemoryFilter | None,
    ) -> list[list[Candidate]]:
        """Each query's hits, best first, in one round trip."""
        ...

    def scores(
        self,
        queries: list[Query],
        project_id: str,
        user_id: str | list[str],
        flt: MemoryFilter | None,
    ) -> list[dict[str, float]]:
        """Each query's hits and their scores alone, without vectors or payload, in one round
        trip: for scoring memories already found (at 100k memories the edge index takes
        0.5 ms where `query` takes 3.5 ms for the same 50 ids)."""
        ...


def candidates(
    index: MemoryIndex,
    vector: np.ndarray,
    terms: Terms,
    project_id: str,
    user_id: str,
    flt: MemoryFilter | None,
    limit: int,
    kinds: tuple[str, ...] | None = None,
) -> list[Candidate]:
    """The `limit` nearest by embedding and the `limit` best by words, each once."""
    queries = [Query(vector, limit, kinds=kinds)] + (
        [Query(terms, limit, kinds=kinds)] if terms.indices else []
    )
    unique: dict[str, Candidate] = {}
    for hits in index.query(queries, project_id, user_id, flt):
        for hit in hits:
            unique.setdefault(hit.id, hit)
    return list(unique.values())


@dataclass(frozen=True)
class FilterDialect:
    """How one Qdrant client spells a filter: its Filter, FieldCondition, MatchValue and
    range constructors."""

    filter: Callable[..., Any]
    field: Callable[..., Any]
    match: Callable[[Any], Any]
    match_any: Callable[[list[str]], Any]
    range: Callable[..., Any]
    has_id: Callable[[list[str]], Any]

    def condition(self, cond: Condition) -> Any:
        key = cond.payload_key
        if cond.op in ("gt", "gte", "lt", "lte"):
            return self.field(key=key, range=self.range(**{cond.op: cond.value}))
        if _by_value(cond.value):  # as SQL matches: 1 finds 1.0, which a match would not
            return self.field(key=key, range=self.range(gte=cond.value, lte=cond.value))
        return self.field(key=key, match=self.match(cond.value))

    def user_filter(self, project_id: str, user_id: str) -> Any:
        return self.filter(
            must=[
                self.field(key="project_id", match=self.match(project_id)),
                self.field(key="user_id", match=self.match(user_id)),
            ]
        )

    def search_filter(
        self,
        project_id: str,
        user_id: str | list[str],
        flt: MemoryFilter | None,
        ids: list[str] | None = None,
        kinds: tuple[str, ...] | None = None,
    ) -> Any:
        users = self.match(user_id) if isinstance(user_id, str) else self.match_any(user_id)
        owners = self.field(key="user_id", match=users)
        if flt is not None and flt.audiences:
            shared = self.field(key="shared_with", match=self.match_any(list(flt.audiences)))
            owners = self.filter(should=[owners, shared])
        must = [
            self.field(key="project_id", match=self.match(project_id)),
            owners,
            self.field(key="status", match=self.match("activated")),
        ]
        other = self.field(key="kind", match=self.match_any(list(kinds or OTHER_KINDS)))
        if kinds:
            must.append(other)
        if ids is not None:
            must.append(self.has_id(ids))
        if flt is not None and flt.conditions:
            conditions = [self.condition(c) for c in flt.conditions]
            must.append(
                self.filter(must=conditions)
                if flt.mode == "and"
                else self.filter(should=conditions)
            )
        if flt is not None:
            must += [
                self.field(key=c.field, match=self.match_any(list(c.value))) for c in flt.scope
            ]
        return self.filter(must=must, must_not=None if kinds else [other])


def _by_value(value: Any) -> bool:
    """Numbers are matched by value: floats, and integers a float holds exactly (past 2**53
    an integer is matched exactly, as a float range would take its neighbours too)."""
    return isinstance(value, float) or (
        isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 2**53
    )


def to_candidate(point: Any, sparse_indices: Callable[[Any], list[int]]) -> Candidate:
    """A scored point (with vectors and ranking payload) as a candidate."""
    vectors, payload = point.vector, point.payload
    return Candidate(
        id=str(point.id),
        vector=np.asarray(vectors[DENSE], dtype=np.float32) if DENSE in vectors else None,
        terms=frozenset(sparse_indices(vectors.get(LEXICAL))),
        conversation_id=payload["conversation_id"],
        confidence=float(payload.get("confidence", 0.0)),
        create_time=int(payload.get("create_time", 0)),
        subject=payload.get("subject"),
        score=float(point.score),
    )
