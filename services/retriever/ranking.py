"""Relativity: how likely a memory holds what the query asks for, in [0, 1].

Two logistic models, fitted on real conversations (the LoCoMo development set) and our own
dialogues with `python -m tests.eval.calibrate`, so a threshold of 0.5 means "more likely
relevant than not" whatever the query:
- each memory on its own: its embedding cosine (mapped onto [0, 1] between the embedder's
  unrelated and paraphrase levels), how far that is below the best candidate's, its BM25 score
  against the best candidate's, and whether the query names the person who said it;
- then with its conversation: the memory's own score, and how close the best memory of the
  same conversation comes to the best overall (what was said together is asked together).
Then small, documented adjustments: the current conversation first, newer memories first when
the query asks for what is recent; near-identical hits shown once."""

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from shared.text import language
from shared.vector_store import Candidate

RECENT = re.compile(
    r"最近|最新|现在|目前|如今|刚刚|这几天|近来|latest|recent|now\b|current|"
    r"these days|lately|anymore",
    re.IGNORECASE,
)
NEAR_DUPLICATE = 0.985  # cosine above which two hits say the same thing
RECENCY_BOOST = 0.2
MEMORY_FEATURES = (
    *("dense", "dense_gap", "words", "log_words", "named", "log_candidates"),
    *("alone", "dense_alone", "dense_gap_alone"),
)
SESSION_FEATURES = ("memory", "session_gap", "log_rank")
RETURNED = 10  # the second model is fitted on the memories a search returns: the first 10


@dataclass(frozen=True)
class RelativityModel:
    """Weights of the two models, bias first (MEMORY_FEATURES, then SESSION_FEATURES), and
    `low`: the probability shown as relativity 0.1 (see `scale`)."""

    memory: tuple[float, ...]
    session: tuple[float, ...]
    low: float


# One model per query language, fitted by `python -m tests.eval.calibrate`: English on the
# LoCoMo development set and our English dialogues, Chinese on our Chinese dialogues (a Chinese
# query shares few words with what answers it and leans on the embedding); README, "Relativity".
FITTED = {
    "en": RelativityModel(
        memory=(-6.144, 0.237, 1.622, 4.897, 1.406, -0.562, -0.592, 6.806, 2.613, 8.903),
        session=(0.346, 0.377, 0.555, -0.693),
        low=0.01,
    ),
    "zh": RelativityModel(
        memory=(-0.273, 4.123, 10.032, 2.174, 0.942, 0.0, -2.36, -0.176, 8.013, 14.134),
        session=(-0.275, 1.281, -0.379, 0.0),
        low=0.1,
    ),
}


@dataclass(frozen=True)
class Ranked:
    relativity: float
    candidate: Candidate


def named_subjects(query: str, subjects: Iterable[str]) -> set[str]:
    """The people the query names among those who said something ("What did Caroline…")."""
    return {s for s in subjects if re.search(rf"\b{re.escape(s)}\b", query, re.IGNORECASE)}


def without_names(query: str, names: Iterable[str]) -> str:
    """The query for the embedding: the speakers' names say little about what is asked and
    pull every turn of that person closer (LoCoMo, dense recall@10: 0.52 with names, 0.65
    without)."""
    stripped = query
    for name in names:
        stripped = re.sub(rf"\b{re.escape(name)}(?:'s|’s)?\b", "", stripped, flags=re.IGNORECASE)
    stripped = " ".join(stripped.split())
    return stripped if re.search(r"\w", stripped) else query


def memory_features(
    candidates: list[Candidate],
    cosines: dict[str, float],
    lexical: dict[str, float],
    names: set[str],
    span: tuple[float, float],
) -> np.ndarray:
    """Per candidate: MEMORY_FEATURES (a user with few memories makes each more likely the one
    asked about: the fit learns by how much). `cosines`: each candidate's with the query."""
    floor, ceiling = span
    dense = (np.array([cosines.get(c.id, floor) for c in candidates]) - floor) / (ceiling - floor)
    words = np.array([lexical.get(c.id, 0.0) for c in candidates])
    best_words = words.max() or 1.0
    named = np.array([c.subject in names for c in candidates], dtype=float)
    many = np.full(len(candidates), math.log(len(candidates)))
    gap = dense - dense.max()
    # Found by meaning alone (no word of the query): its embedding is judged on a scale of
    # its own (on LoCoMo most such are noise; on short histories they are often the answer).
    alone = (words == 0).astype(float)
    return np.stack(
        [dense, gap, words / best_words, np.log1p(words), named, many]
        + [alone, alone * dense, alone * gap],
        1,
    )


def session_features(memory_logits: np.ndarray, conversations: list[str]) -> np.ndarray:
    """Per candidate: SESSION_FEATURES (its place among the candidates sharpens the top: the
    first is evidence far more often than the tenth with nearly the same score)."""
    best: dict[str, float] = {}
    for logit, conversation in zip(memory_logits, conversations, strict=True):
        best[conversation] = max(best.get(conversation, -math.inf), float(logit))
    session = np.array([best[c] for c in conversations]) - memory_logits.max()
    rank = np.empty(len(memory_logits))
    rank[np.argsort(-memory_logits, kind="stable")] = np.arange(len(memory_logits))
    return np.stack([memory_logits, session, np.log1p(rank)], 1)


def linear(weights: tuple[float, ...], features: np.ndarray) -> np.ndarray:
    scores: np.ndarray = weights[0] + features @ np.asarray(weights[1:])
    return scores


def relativities(
    candidates: list[Candidate],
    cosines: dict[str, float],
    lexical: dict[str, float],
    names: set[str],
    span: tuple[float, float],
    model: RelativityModel,
) -> np.ndarray:
    p = probability(
        model,
        memory_features(candidates, cosines, lexical, names, span),
        [c.conversation_id for c in candidates],
    )
    return scale(p, model.low)


def scale(p: np.ndarray, low: float) -> np.ndarray:
    """Relativity from the probability: the probability itself from 0.5 up (more likely
    relevant than not); below, stretched so that under 0.1 means under `low`, the level under
    which returned memories held evidence at most 1% of the time in the fit (almost never)."""
    stretched: np.ndarray = np.where(p < low, 0.1 * p / low, 0.1 + 0.4 * (p - low) / (0.5 - low))
    return np.where(p >= 0.5, p, stretched)


def probability(
    model: RelativityModel, features: np.ndarray, conversations: list[str]
) -> np.ndarray:
    """The two models in turn: each memory alone, then with its conversation."""
    memory = linear(model.memory, features)
    logits = linear(model.session, session_features(memory, conversations))
    probabilities: np.ndarray = 1.0 / (1.0 + np.exp(-logits))
    return probabilities


def rank(
    candidates: list[Candidate],
    cosines: dict[str, float],
    lexical: dict[str, float],
    names: set[str],
    query: str,
    conversation_id: str | None,
    span: tuple[float, float],
    models: dict[str, RelativityModel] = FITTED,
    conversation_boost: float = 0.1,
) -> list[Ranked]:
    if not candidates:
        return []
    scores = relativities(candidates, cosines, lexical, names, span, models[language(query)])
    times = [c.create_time for c in candidates]
    oldest, age_span = min(times), max(1, max(times) - min(times))
    wants_recent = bool(RECENT.search(query))
    ranked = []
    for candidate, score in zip(candidates, scores, strict=True):
        if conversation_id and candidate.conversation_id == conversation_id:
            score += conversation_boost
        if wants_recent:
            score += RECENCY_BOOST * (candidate.create_time - oldest) / age_span
        ranked.append(Ranked(round(min(1.0, float(score)), 4), candidate))
    ranked.sort(key=lambda r: -r.relativity)
    return without_near_duplicates(ranked)


def without_near_duplicates(ranked: list[Ranked]) -> list[Ranked]:
    """Drops each candidate nearly identical to a better-ranked one kept: the same words and
    an embedding as good as the same (e5 puts "第0本小说" and "第2本小说" above 0.985; their
    words differ). Only candidates with the same words are compared, by the embeddings the
    search fetched for them."""
    same_words: dict[frozenset[int], list[Ranked]] = {}
    dropped: set[int] = set()
    for position, r in enumerate(ranked):
        kept = same_words.setdefault(r.candidate.terms, [])
        vector = r.candidate.vector
        if vector is not None and any(
            k.candidate.vector is not None and float(vector @ k.candidate.vector) >= NEAR_DUPLICATE
            for k in kept
        ):
            dropped.add(position)
        else:
            kept.append(r)
    return [r for i, r in enumerate(ranked) if i not in dropped]
