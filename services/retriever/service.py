"""Search: embed the query, find candidates in Qdrant, score relativity, read rows from SQL."""

from services.retriever import instructions
from shared.config import get_settings
from shared.db.session import new_session
from shared.embeddings import get_embedder
from shared.filters import parse_filter
from shared.memories import load_memories, to_item
from shared.schemas import SearchMemoryRequest
from shared.vector_store import get_memory_index

# Candidates fetched per requested memory: room for the conversation boost to reorder.
CANDIDATE_FACTOR = 4


def score_relativity(cosine: float, confidence: float) -> float:
    """Cosine similarity mapped linearly onto [0, 1] between the embedder's floor (unrelated
    text) and ceiling (a paraphrase), then weighed a little by the memory's confidence, so the
    user's own statement outranks the assistant echoing it."""
    settings = get_settings()
    embedder = get_embedder()
    floor = settings.relativity_floor if settings.relativity_floor is not None else embedder.floor
    ceiling = (settings.relativity_ceiling if settings.relativity_ceiling is not None
               else embedder.ceiling)
    relevance = min(1.0, max(0.0, (cosine - floor) / (ceiling - floor)))
    return relevance * (0.9 + 0.1 * confidence)


def search_memories(project_id: str, request: SearchMemoryRequest) -> dict:
    settings = get_settings()
    flt = parse_filter(request.filter)
    vector = get_embedder().embed_queries([request.query])[0]
    limit = request.memory_limit_number
    hits = get_memory_index().search(vector, project_id, request.user_id, flt,
                                     limit=max(limit * CANDIDATE_FACTOR, 20))
    scored = []
    for hit in hits:
        relativity = score_relativity(hit.score, hit.confidence)
        if request.conversation_id and hit.conversation_id == request.conversation_id:
            relativity = min(1.0, relativity + settings.conversation_boost)
        if request.relativity is None or relativity >= request.relativity:
            scored.append((round(relativity, 4), hit.id))
    scored.sort(key=lambda pair: -pair[0])
    with new_session() as session:
        rows = load_memories(session, project_id, [memory_id for _, memory_id in scored])
        # Points whose rows are gone (deleted, or a job that never committed) are skipped.
        items = [to_item(rows[memory_id], relativity) for relativity, memory_id in scored
                 if memory_id in rows and rows[memory_id].status == "activated"][:limit]
    values = [item["memory_value"] for item in items]
    return {
        "memory_detail_list": items if request.return_matches else [],
        "message_detail_list": None,
        "instruction": instructions.build("instruction", request.query, values)
        if request.return_instruction else None,
        "full_instruction": instructions.build("full_instruction", request.query, values)
        if request.return_full_instruction else None,
    }
