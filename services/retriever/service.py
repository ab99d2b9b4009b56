"""Search: gather candidates by words and by embedding, rank them by relativity (ranking.py),
read the memories from SQL, and build the instructions."""

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from services.retriever import instructions
from services.retriever.ranking import (
    FITTED,
    Evidence,
    Ranked,
    named_subjects,
    rank,
    relativities,
    without_names,
)
from shared.config import Settings
from shared.db.models import Memory
from shared.embeddings.base import Embedder
from shared.filters import MemoryFilter, parse_filter, scoped, shared_with
from shared.lexical import Terms, bm25_scores, document_terms, query_terms
from shared.memories import knowledgebases, load_memories, to_item
from shared.profiles import user_profiles
from shared.runtime import Runtime
from shared.schemas import RerankRequest, SearchMemoryRequest
from shared.text import language
from shared.vector_store import (
    KNOWLEDGE,
    PREFERENCES,
    PUBLIC,
    SKILLS,
    TOOLS,
    Candidate,
    MemoryIndex,
    Query,
    knowledge_user,
)

# Candidates from each half: the model ranks best with room to reorder; more bought nothing
# on LoCoMo (recall@10 the same at 50 and 100 from each half).
POOL = 50
SPARE = 4  # rows read beyond the limit, for points whose rows are gone
KIND_POOL = 10  # candidates of preferences, of tool memories: a user has far fewer than facts
# Preferences under this relativity bear on the query almost never (ranking.py, `scale`): the
# preference_note and the instructions leave them out.
NOTE_RELATIVITY = 0.1


@dataclass(frozen=True)
class Pool:
    """What ranking needs of one search: the candidates, their BM25 scores (0 when no word
    matches) and cosines with the query, the people the query names, and the query's
    embedding."""

    candidates: list[Candidate]
    lexical: dict[str, float]
    cosines: dict[str, float]
    names: set[str]
    vector: np.ndarray


def gather(
    index: MemoryIndex,
    embedder: Embedder,
    query: str,
    project_id: str,
    user_id: str,
    flt: MemoryFilter | None,
    size: int = POOL,
) -> Pool:
    """The facts' pool of one query (`gather_kinds`)."""
    (pool,) = gather_kinds(index, embedder, query, project_id, user_id, flt, [(None, size)])
    return pool


def gather_kinds(
    index: MemoryIndex,
    embedder: Embedder,
    query: str,
    project_id: str,
    user_id: str | list[str],
    flt: MemoryFilter | None,
    wanted: list[tuple[tuple[str, ...] | None, int]],
    like: Pool | None = None,
) -> list[Pool]:
    """A pool per (kinds, size) in `wanted` (kinds None: facts, which come first), each kind
    in the same round trips. Words first: the subjects of the facts they find tell which names
    the query mentions, and those are left out of the embedding. Then the nearest by
    embedding, and the BM25 scores of those the words did not find, so every candidate has
    both. `like`: a pool of the same query, whose embedding (and names) serve again."""
    terms = query_terms(query)

    def asked(by: np.ndarray | Terms) -> list[Query]:
        return [Query(by, n, kinds=k, vectors=False) for k, n in wanted]

    by_words = (
        index.query(asked(terms), project_id, user_id, flt)
        if terms.indices
        else [[] for _ in wanted]
    )
    if like is None:
        names = named_subjects(query, {c.subject for c in by_words[0] if c.subject})
        vector = embedder.embed_queries([without_names(query, names)])[0]
    else:
        names, vector = like.names, like.vector
    by_meaning = index.query(asked(vector), project_id, user_id, flt)
    lexical = [{c.id: c.score for c in words} for words in by_words]
    cosines = [{c.id: c.score for c in meaning} for meaning in by_meaning]
    # One round trip for the rest: the BM25 scores of those found by meaning alone, the
    # cosines of those found by words alone.
    missing: list[tuple[Query, dict[str, float]]] = []
    for (kinds, _), words, meaning, scored, near in zip(
        wanted, by_words, by_meaning, lexical, cosines, strict=True
    ):
        if terms.indices and (ids := [c.id for c in meaning if c.id not in scored]):
            missing.append((Query(terms, len(ids), ids, kinds), scored))
        if ids := [c.id for c in words if c.id not in near]:
            missing.append((Query(vector, len(ids), ids, kinds), near))
    if missing:
        found = index.scores([q for q, _ in missing], project_id, user_id, flt)
        for (_, into), scores in zip(missing, found, strict=True):
            into.update(scores)
    pools = [
        list({c.id: c for c in meaning + words}.values())
        for words, meaning in zip(by_words, by_meaning, strict=True)
    ]
    return [
        Pool(candidates, scored, near, names, vector)
        for candidates, scored, near in zip(
            _with_vectors_where_words_repeat(
                index, vector, pools, wanted, project_id, user_id, flt
            ),
            lexical,
            cosines,
            strict=True,
        )
    ]


def _with_vectors_where_words_repeat(
    index: MemoryIndex,
    vector: np.ndarray,
    pools: list[list[Candidate]],
    wanted: list[tuple[tuple[str, ...] | None, int]],
    project_id: str,
    user_id: str | list[str],
    flt: MemoryFilter | None,
) -> list[list[Candidate]]:
    """The candidates, those sharing their words with another given their embeddings (all
    that ranking compares them by, to show near-identical memories once; rare)."""
    repeated = []
    for pool in pools:
        count = Counter(c.terms for c in pool)
        repeated.append([c.id for c in pool if count[c.terms] > 1])
    asks = [
        (i, Query(vector, len(ids), ids, kinds))
        for i, ((kinds, _), ids) in enumerate(zip(wanted, repeated, strict=True))
        if ids
    ]
    if not asks:
        return pools
    fetched = {
        c.id: c.vector
        for hits in index.query([q for _, q in asks], project_id, user_id, flt)
        for c in hits
    }
    return [[replace(c, vector=fetched.get(c.id, c.vector)) for c in pool] for pool in pools]


def cosine_span(embedder: Embedder, settings: Settings) -> tuple[float, float]:
    """The cosines of unrelated text and of a paraphrase: configured, else the embedder's."""
    floor = settings.relativity_floor if settings.relativity_floor is not None else embedder.floor
    ceiling = (
        settings.relativity_ceiling if settings.relativity_ceiling is not None else embedder.ceiling
    )
    return floor, ceiling


def ranked_pool(
    pool: Pool,
    query: str,
    conversation_id: str | None,
    span: tuple[float, float],
    conversation_boost: float,
    explain: bool = False,
) -> list[Ranked]:
    return rank(
        pool.candidates,
        pool.cosines,
        pool.lexical,
        pool.names,
        query,
        conversation_id,
        span,
        conversation_boost=conversation_boost,
        explain=explain,
    )


def _activated(
    runtime: Runtime, project_id: str, rankings: list[list[Ranked]], limits: list[int]
) -> list[list[tuple[Memory, Ranked]]]:
    """For each ranking, the rows of the best-ranked, up to its limit, with their ranking,
    read together. A few spare are read: points whose rows are gone (deleted, or a job that
    never committed) or archived are skipped and the next ones read."""
    found: list[list[tuple[Memory, Ranked]]] = [[] for _ in rankings]
    read = [0 for _ in rankings]  # how far down each ranking rows were read
    with runtime.db.session() as session:
        while True:
            batches = [
                ranked[start : start + limit + SPARE] if len(kept) < limit else []
                for ranked, limit, kept, start in zip(rankings, limits, found, read, strict=True)
            ]
            if not any(batches):
                break
            rows = load_memories(
                session, project_id, [r.candidate.id for batch in batches for r in batch]
            )
            for i, batch in enumerate(batches):
                read[i] += len(batch)
                found[i] += [
                    (rows[r.candidate.id], r)
                    for r in batch
                    if r.candidate.id in rows and rows[r.candidate.id].status == "activated"
                ]
    return [kept[:limit] for kept, limit in zip(found, limits, strict=True)]


Section = tuple[tuple[str, ...] | None, int, int]  # kinds (None: facts), candidates, limit


def _found(
    runtime: Runtime,
    project_id: str,
    users: str | list[str],
    flt: MemoryFilter | None,
    request: SearchMemoryRequest,
    sections: list[Section],
    like: Pool | None = None,
) -> tuple[dict[tuple[str, ...] | None, list[tuple[Memory, Ranked]]], Pool]:
    """Each section's best memories of `users` with their ranking (relativity, and evidence
    when the request asks to `explain`), and the first pool (whose embedding of the query
    serves again)."""
    settings = runtime.settings
    span = cosine_span(runtime.embedder, settings)
    pools = gather_kinds(
        runtime.index,
        runtime.embedder,
        request.query,
        project_id,
        users,
        flt,
        [(kinds, size) for kinds, size, _ in sections],
        like,
    )
    rankings = [
        [
            r
            for r in ranked_pool(
                pool,
                request.query,
                request.conversation_id,
                span,
                settings.conversation_boost,
                request.explain,
            )
            if request.relativity is None or r.relativity >= request.relativity
        ]
        for pool in pools
    ]
    rows = _activated(runtime, project_id, rankings, [limit for _, _, limit in sections])
    return dict(zip([kinds for kinds, _, _ in sections], rows, strict=True)), pools[0]


def search_memories(
    runtime: Runtime, project_id: str, request: SearchMemoryRequest
) -> dict[str, Any]:
    flt = scoped(parse_filter(request.filter), agent_id=request.agent_id, app_id=request.app_id)
    named = request.knowledgebase_ids or []
    # Knowledge bases read: those named, else (for skills) all the project's.
    shelved = (
        knowledgebases(runtime.db, project_id, named, "knowledgebase_ids")
        if named or request.include_skill
        else []
    )
    # The user's memories, and those other users shared with the project's public memory or
    # with a knowledge base named.
    flt = shared_with(flt, [PUBLIC, *map(knowledge_user, named)])
    # Facts first, then each other kind asked for.
    sections: list[Section] = [(None, POOL, request.memory_limit_number)]
    if request.include_preference and request.preference_limit_number:
        sections.append((PREFERENCES, KIND_POOL, request.preference_limit_number))
    if request.include_tool_memory and request.tool_memory_limit_number:
        sections.append((TOOLS, KIND_POOL, request.tool_memory_limit_number))
    found, pool = _found(runtime, project_id, request.user_id, flt, request, sections)
    memories, preferences = found[None], found.get(PREFERENCES, [])
    # Knowledge bases beside the user's memories: their chunks ranked with the facts, their
    # skills apart.
    shelves: list[Section] = []
    if request.knowledgebase_ids:
        shelves.append((KNOWLEDGE, POOL, request.memory_limit_number))
    if request.include_skill and request.skill_limit_number:
        shelves.append((SKILLS, KIND_POOL, request.skill_limit_number))
    owners = [knowledge_user(k) for k in shelved] if shelves else []
    if owners:
        read, _ = _found(runtime, project_id, owners, None, request, shelves, like=pool)
        found |= read
        memories = sorted(memories + found.get(KNOWLEDGE, []), key=lambda m: -m[1].relativity)
        memories = memories[: request.memory_limit_number]
    profiles = None
    if request.include_profile:
        with runtime.db.session() as session:
            profiles = user_profiles(session, project_id, request.user_id)
    bearing = [m.memory_value for m, r in preferences if r.relativity >= NOTE_RELATIVITY]
    values = [m.memory_value for m, _ in memories]
    values += [p for p in bearing if p not in values]

    def item(memory: Memory, ranked: Ranked) -> dict[str, Any]:
        shown = to_item(memory, ranked.relativity, viewer=request.user_id)
        if ranked.evidence is not None:
            shown["evidence"] = _evidence(memory, ranked.evidence)
        return shown

    def listed(kinds: tuple[str, ...], asked: bool) -> list[dict[str, Any]] | None:
        return [item(m, r) for m, r in found.get(kinds, [])] if asked else None

    return {
        "memory_detail_list": [item(m, r) for m, r in memories] if request.return_matches else [],
        "message_detail_list": None,
        "preference_detail_list": listed(PREFERENCES, request.include_preference),
        "preference_note": instructions.preference_note(request.query, bearing)
        if request.include_preference
        else None,
        "tool_memory_detail_list": listed(TOOLS, request.include_tool_memory),
        "skill_detail_list": listed(SKILLS, request.include_skill),
        "profile_detail_list": profiles,
        "instruction": instructions.build("instruction", request.query, values, runtime.llm)
        if request.return_instruction
        else None,
        "full_instruction": instructions.build(
            "full_instruction", request.query, values, runtime.llm
        )
        if request.return_full_instruction
        else None,
    }


def _evidence(memory: Memory, ranked: Evidence) -> Evidence:
    """An explained item's `evidence`: ranking's (ranking.explained), and before the final
    `relativity`, the memory's own `confidence` from its SQL row, shown for reference: ranking
    does not use it."""
    evidence = dict(ranked)
    relativity = evidence.pop("relativity")
    return evidence | {"confidence": memory.confidence, "relativity": relativity}


def rerank(runtime: Runtime, request: RerankRequest) -> dict[str, Any]:
    """The documents ordered by relativity to the query, by the model search ranks memories
    with (each document its own conversation, no speaker); the first `top_n`."""
    embedder, documents = runtime.embedder, request.documents
    vectors = embedder.embed_passages(documents)
    query_vector = embedder.embed_queries([request.query])[0]
    words = bm25_scores(query_terms(request.query), [document_terms(d) for d in documents])
    candidates = [
        Candidate(str(i), vectors[i], frozenset(), str(i), 0.0, 0, None, 0.0)
        for i in range(len(documents))
    ]
    scores = relativities(
        candidates,
        {str(i): float(vectors[i] @ query_vector) for i in range(len(documents))},
        {str(i): float(w) for i, w in enumerate(words)},
        set(),
        cosine_span(embedder, runtime.settings),
        FITTED[language(request.query)],
    )
    order = np.argsort(-scores, kind="stable")[: request.top_n]
    return {
        "results": [
            {
                "index": int(i),
                "document": documents[i],
                "relevance_score": round(float(scores[i]), 4),
            }
            for i in order
        ]
    }


class InProcessRetriever:
    """The retriever's code in the caller's process (the embedded default): searches, and
    the index points a delete removes."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def search(self, project_id: str, request: SearchMemoryRequest) -> dict[str, Any]:
        return search_memories(self._runtime, project_id, request)

    def rerank(self, request: RerankRequest) -> dict[str, Any]:
        return rerank(self._runtime, request)

    def delete(self, ids: list[str]) -> None:
        self._runtime.index.delete(ids)

    def delete_user(self, project_id: str, user_id: str) -> None:
        self._runtime.index.delete_user(project_id, user_id)

    def close(self) -> None:
        pass  # the index is the runtime's, closed with it
