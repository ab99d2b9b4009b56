"""`explain`: the evidence `rank` gives each candidate is what it computed the relativity
from, and asking for it changes no relativity and no order."""

import math

import orjson
import pytest

from services.retriever.ranking import (
    FITTED,
    memory_features,
    probability,
    rank,
    relativities,
    scale,
)
from shared.schemas import SearchMemoryRequest, SearchQuery
from shared.vector_store import Candidate

SPAN = (0.72, 0.92)
KEYS = [
    "cosine",
    "meaning",
    "bm25",
    "word_share",
    "named",
    "probability",
    "model_relativity",
    "conversation_boost",
    "recency_boost",
    "relativity",
]


def pool() -> tuple[list[Candidate], dict[str, float], dict[str, float]]:
    """Twelve candidates over three conversations, some found by words, one without a cosine
    (counted at the unrelated level), some said by Caroline."""
    candidates = [
        Candidate(
            f"m{i}",
            None,
            frozenset({i}),
            f"c{i % 3}",
            0.5,
            1_700_000_000_000 + i * 60_000,
            "Caroline" if i % 4 == 0 else "Melanie",
            0.0,
        )
        for i in range(12)
    ]
    cosines = {c.id: 0.70 + 0.021 * ((i * 7) % 12) for i, c in enumerate(candidates) if i != 5}
    lexical = {c.id: 1.5 * i for i, c in enumerate(candidates) if i % 2}
    return candidates, cosines, lexical


@pytest.mark.parametrize(
    "query, conversation_id",
    [("What did Caroline do lately?", "c1"), ("Where does Caroline swim?", None)],
)
def test_rank_evidence_is_what_the_relativity_was_computed_from(
    query: str, conversation_id: str | None
) -> None:
    candidates, cosines, lexical = pool()
    names = {"Caroline"}
    args = (candidates, cosines, lexical, names, query, conversation_id, SPAN)
    plain, explained = rank(*args), rank(*args, explain=True)
    # Explaining changes nothing of the ranking, and without it nothing is explained.
    assert [(r.relativity, r.candidate.id) for r in explained] == [
        (r.relativity, r.candidate.id) for r in plain
    ]
    assert all(r.evidence is None for r in plain)

    model = FITTED["en"]
    features = memory_features(candidates, cosines, lexical, names, SPAN)
    p = probability(model, features, [c.conversation_id for c in candidates])
    shown = relativities(candidates, cosines, lexical, names, SPAN, model)
    at = {c.id: i for i, c in enumerate(candidates)}
    best_words = max(lexical.values())
    for r in explained:
        evidence, i, c = r.evidence, at[r.candidate.id], r.candidate
        assert evidence is not None and list(evidence) == KEYS
        assert evidence["cosine"] == cosines.get(c.id, SPAN[0])  # the pool's cosine
        assert evidence["meaning"] == features[i, 0]
        assert evidence["meaning"] == pytest.approx((evidence["cosine"] - 0.72) / 0.2)
        assert evidence["bm25"] == lexical.get(c.id, 0.0)
        assert evidence["word_share"] == evidence["bm25"] / best_words
        assert evidence["named"] is (c.subject == "Caroline")
        assert evidence["probability"] == p[i]
        assert evidence["model_relativity"] == shown[i] == scale(p, model.low)[i]
        boost = 0.1 if conversation_id and c.conversation_id == conversation_id else 0.0
        assert evidence["conversation_boost"] == boost
        total = evidence["model_relativity"] + boost + evidence["recency_boost"]
        assert evidence["relativity"] == r.relativity == round(min(1.0, total), 4)
        assert all(isinstance(v, float) for k, v in evidence.items() if k != "named")
    recency = {r.candidate.id: r.evidence["recency_boost"] for r in explained if r.evidence}
    if "lately" in query:  # newer first: the newest gets the whole boost, the oldest none
        assert recency["m11"] == pytest.approx(0.2) and recency["m0"] == 0.0
        assert all(recency[f"m{i}"] < recency[f"m{i + 1}"] for i in range(11))
    else:
        assert set(recency.values()) == {0.0}


def test_rank_evidence_for_a_lone_candidate_and_the_cosine_span() -> None:
    (only,) = rank(
        [Candidate("m", None, frozenset(), "c", 0.9, 0, None, 0.0)],
        {"m": 0.95},
        {},
        set(),
        "推荐一款咖啡",
        "c",
        SPAN,
        conversation_boost=0.25,
        explain=True,
    )
    evidence = only.evidence
    assert evidence is not None and evidence["bm25"] == 0.0 and evidence["word_share"] == 0.0
    assert evidence["meaning"] == pytest.approx(1.15)  # above the paraphrase level: not clipped
    assert evidence["named"] is False and evidence["conversation_boost"] == 0.25
    capped = min(1.0, evidence["model_relativity"] + 0.25)
    assert only.relativity == evidence["relativity"] == round(capped, 4)
    assert not math.isnan(evidence["probability"]) and 0 < evidence["probability"] < 1


def test_explain_reaches_a_separate_retriever() -> None:
    """The gateway sends a SearchQuery's model_dump as JSON to /internal/search."""
    request = SearchMemoryRequest(user_id="u", query="q", explain=True)
    sent = orjson.dumps(SearchQuery(project_id="p", request=request).model_dump())
    assert SearchQuery.model_validate_json(sent).request.explain is True
    assert SearchMemoryRequest(user_id="u", query="q", explain=None).explain is False
