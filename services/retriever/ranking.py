"""Relativity: how likely a memory holds what the query asks for, in [0, 1].

Three pieces of evidence per candidate: the embedding cosine (mapped onto [0, 1] between the
embedder's unrelated and paraphrase levels), word coverage (the share of the query's words the
memory contains) and the memory's confidence (the user's own statements above the assistant's).
A logistic model turns them into a probability; its weights were fitted on the evaluation set
(`python -m tests.eval.calibrate`), so a threshold of 0.5 means "more likely relevant than
not" whatever the query. Then small, documented adjustments: the current conversation first,
newer memories first when the query asks for what is recent; near-identical hits shown once."""

import math
import re
from dataclasses import dataclass

import numpy as np

from shared.config import get_settings
from shared.embeddings.base import Embedder
from shared.lexical import coverage
from shared.vector_store import Candidate

RECENT = re.compile(r"最近|最新|现在|目前|如今|刚刚|这几天|近来|latest|recent|now\b|current|"
                    r"these days|lately|anymore", re.IGNORECASE)
NEAR_DUPLICATE = 0.985  # cosine above which two hits say the same thing
RECENCY_BOOST = 0.2


@dataclass(frozen=True)
class Ranked:
    relativity: float
    candidate: Candidate


def cosine_span(embedder: Embedder) -> tuple[float, float]:
    """The cosines of unrelated text and of a paraphrase: configured, else the embedder's."""
    settings = get_settings()
    floor = settings.relativity_floor if settings.relativity_floor is not None else embedder.floor
    ceiling = (settings.relativity_ceiling if settings.relativity_ceiling is not None
               else embedder.ceiling)
    return floor, ceiling


def features(candidate: Candidate, cosine: float, query_weights: dict[int, float],
             span: tuple[float, float]) -> tuple[float, float, float]:
    """(mapped cosine, word coverage, confidence): the evidence the model weighs."""
    floor, ceiling = span
    dense = min(1.0, max(0.0, (cosine - floor) / (ceiling - floor)))
    return dense, coverage(query_weights, candidate.terms), candidate.confidence


def relevance(dense: float, word_coverage: float, confidence: float) -> float:
    settings = get_settings()
    z = (settings.relativity_bias + settings.relativity_dense_weight * dense
         + settings.relativity_lexical_weight * word_coverage
         + settings.relativity_confidence_weight * confidence)
    return 1.0 / (1.0 + math.exp(-z))


def rank(candidates: list[Candidate], query_vector: np.ndarray, query_weights: dict[int, float],
         query: str, conversation_id: str | None, embedder: Embedder) -> list[Ranked]:
    if not candidates:
        return []
    settings = get_settings()
    span = cosine_span(embedder)
    cosines = np.stack([c.vector for c in candidates]) @ query_vector
    times = [c.create_time for c in candidates]
    oldest, age_span = min(times), max(1, max(times) - min(times))
    wants_recent = bool(RECENT.search(query))
    ranked = []
    for candidate, cosine in zip(candidates, cosines, strict=True):
        score = relevance(*features(candidate, float(cosine), query_weights, span))
        if conversation_id and candidate.conversation_id == conversation_id:
            score += settings.conversation_boost
        if wants_recent:
            score += RECENCY_BOOST * (candidate.create_time - oldest) / age_span
        ranked.append(Ranked(round(min(1.0, score), 4), candidate))
    ranked.sort(key=lambda r: -r.relativity)
    return without_near_duplicates(ranked)


def without_near_duplicates(ranked: list[Ranked]) -> list[Ranked]:
    """Drops each candidate nearly identical to a better-ranked one kept (one matrix product
    for all pairs)."""
    if not ranked:
        return []
    vectors = np.stack([r.candidate.vector for r in ranked])
    similar = (vectors @ vectors.T) >= NEAR_DUPLICATE
    kept: list[int] = []
    for i in range(len(ranked)):
        if not similar[i, kept].any():
            kept.append(i)
    return [ranked[i] for i in kept]
