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
from dataclasses import dataclass, field
from typing import NamedTuple

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
# The columns of MEMORY_FEATURES an explained search shows (`explained`).
DENSE, WORD_SHARE, NAMED = (MEMORY_FEATURES.index(f) for f in ("dense", "words", "named"))
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


Evidence = dict[str, float | bool]


@dataclass(frozen=True)
class Ranked:
    """A candidate and its relativity; `evidence` only when `rank` was asked to explain."""

    relativity: float
    candidate: Candidate
    evidence: Evidence | None = field(default=None, compare=False)


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
    return _memory_features(*_memory_inputs(candidates, cosines, lexical, names, span[0]), span)


def _memory_inputs(
    candidates: list[Candidate],
    cosines: dict[str, float],
    lexical: dict[str, float],
    names: set[str],
    floor: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per candidate: its cosine with the query (the unrelated level when it has none), its
    BM25 score (0 when no word matches), and whether the query names who said it (1 or 0)."""
    cosine = np.array([cosines.get(c.id, floor) for c in candidates])
    words = np.array([lexical.get(c.id, 0.0) for c in candidates])
    named = np.array([c.subject in names for c in candidates], dtype=float)
    return cosine, words, named


def _memory_features(
    cosine: np.ndarray, words: np.ndarray, named: np.ndarray, span: tuple[float, float]
) -> np.ndarray:
    floor, ceiling = span
    dense = (cosine - floor) / (ceiling - floor)
    best_words = words.max() or 1.0
    many = np.full(len(cosine), math.log(len(cosine)))
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


class Computed(NamedTuple):
    """The arrays relativities are computed from, a row per candidate: the cosine and BM25
    score used (`_memory_inputs`), the MEMORY_FEATURES made of them, the two models'
    probability, and the relativity `scale` makes of it."""

    cosine: np.ndarray
    words: np.ndarray
    features: np.ndarray
    probability: np.ndarray
    relativity: np.ndarray


def computed(
    candidates: list[Candidate],
    cosines: dict[str, float],
    lexical: dict[str, float],
    names: set[str],
    span: tuple[float, float],
    model: RelativityModel,
) -> Computed:
    cosine, words, named = _memory_inputs(candidates, cosines, lexical, names, span[0])
    features = _memory_features(cosine, words, named, span)
    p = probability(model, features, [c.conversation_id for c in candidates])
    return Computed(cosine, words, features, p, scale(p, model.low))


def relativities(
    candidates: list[Candidate],
    cosines: dict[str, float],
    lexical: dict[str, float],
    names: set[str],
    span: tuple[float, float],
    model: RelativityModel,
) -> np.ndarray:
    return computed(candidates, cosines, lexical, names, span, model).relativity


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
    explain: bool = False,
) -> list[Ranked]:
    """The candidates by relativity, best first, near-identical ones once; with `explain`,
    each with the evidence behind its relativity (`explained`)."""
    if not candidates:
        return []
    parts = computed(candidates, cosines, lexical, names, span, models[language(query)])
    times = [c.create_time for c in candidates]
    oldest, age_span = min(times), max(1, max(times) - min(times))
    wants_recent = bool(RECENT.search(query))
    ranked = []
    scores: list[float] = parts.relativity.tolist()  # Python floats: the same, added faster
    for i, (candidate, score) in enumerate(zip(candidates, scores, strict=True)):
        boost = (
            conversation_boost
            if conversation_id and candidate.conversation_id == conversation_id
            else 0.0
        )
        recency = (
            RECENCY_BOOST * (candidate.create_time - oldest) / age_span if wants_recent else 0.0
        )
        relativity = round(min(1.0, score + boost + recency), 4)
        evidence = explained(parts, i, boost, recency, relativity) if explain else None
        ranked.append(Ranked(relativity, candidate, evidence))
    ranked.sort(key=lambda r: -r.relativity)
    return without_near_duplicates(ranked)


def explained(
    parts: Computed, i: int, conversation_boost: float, recency_boost: float, relativity: float
) -> Evidence:
    """Why candidate `i` got its relativity, read from the arrays `rank` computed it with
    (nothing computed again), unrounded but `relativity`:
    - `cosine`: its embedding's cosine with the query (the unrelated level when the index gave
      none);
    - `meaning`: that cosine mapped between the embedder's unrelated (0) and paraphrase (1)
      levels, the `dense` feature (not clipped: below 0 or above 1 beyond those levels);
    - `bm25`: its BM25 score against the query's words (0 when none matches), and
      `word_share`: that score over the best candidate's (the `words` feature);
    - `named`: whether the query names the person who said it;
    - `probability`: the two logistic models' output, and `model_relativity`: what `scale`
      makes of it;
    - `conversation_boost`, `recency_boost`: what `rank` added (0 when nothing);
    - `relativity`: min(1, model_relativity + both boosts), rounded to 4 places: the item's.
    The search adds the memory's own `confidence`, which ranking does not use."""
    features = parts.features[i]
    return {
        "cosine": float(parts.cosine[i]),
        "meaning": float(features[DENSE]),
        "bm25": float(parts.words[i]),
        "word_share": float(features[WORD_SHARE]),
        "named": bool(features[NAMED]),
        "probability": float(parts.probability[i]),
        "model_relativity": float(parts.relativity[i]),
        "conversation_boost": float(conversation_boost),
        "recency_boost": float(recency_boost),
        "relativity": relativity,
    }


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
