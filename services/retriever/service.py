"""Search: embed the query, gather candidates by embedding and by words, rank them by
relativity (ranking.py), read the memories from SQL, and build the instructions."""

from services.retriever import instructions
from services.retriever.ranking import rank
from shared.db.session import new_session
from shared.embeddings import get_embedder
from shared.filters import parse_filter
from shared.lexical import query_terms
from shared.memories import load_memories, to_item
from shared.schemas import SearchMemoryRequest
from shared.vector_store import get_memory_index

# Candidates fetched per requested memory, from each half: room for ranking to reorder.
CANDIDATE_FACTOR = 4
SPARE = 4  # rows read beyond the limit, for points whose rows are gone


def search_memories(project_id: str, request: SearchMemoryRequest) -> dict:
    flt = parse_filter(request.filter)
    embedder = get_embedder()
    vector = embedder.embed_queries([request.query])[0]
    terms, weights = query_terms(request.query)
    limit = request.memory_limit_number
    candidates = get_memory_index().candidates(vector, terms, project_id, request.user_id, flt,
                                               limit=max(limit * CANDIDATE_FACTOR, 20))
    ranked = [r for r in rank(candidates, vector, weights, request.query,
                              request.conversation_id, embedder)
              if request.relativity is None or r.relativity >= request.relativity]
    items: list[dict] = []
    with new_session() as session:
        # Rows of the best-ranked first, a few spare: points whose rows are gone (deleted, or
        # a job that never committed) are skipped and the next ones read.
        for start in range(0, len(ranked), limit + SPARE):
            batch = ranked[start:start + limit + SPARE]
            rows = load_memories(session, project_id, [r.candidate.id for r in batch])
            items += [to_item(rows[r.candidate.id], r.relativity) for r in batch
                      if r.candidate.id in rows and rows[r.candidate.id].status == "activated"]
            if len(items) >= limit:
                break
    items = items[:limit]
    values = [item["memory_value"] for item in items]
    return {
        "memory_detail_list": items if request.return_matches else [],
        "message_detail_list": None,
        "instruction": instructions.build("instruction", request.query, values)
        if request.return_instruction else None,
        "full_instruction": instructions.build("full_instruction", request.query, values)
        if request.return_full_instruction else None,
    }
