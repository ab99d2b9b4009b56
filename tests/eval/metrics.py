"""Retrieval metrics of the evaluation, as pure functions of ranked source ids, so they are
tested on hand-made inputs apart from any running service.

A ranking is the search answer reduced to what the metrics need: one set of (local) message
ids per returned memory, best first. Memories are judged by the messages they came from, not
by their wording, because the wording depends on the extractor (rules or an LLM) while the
source messages are fixed by the dataset.
"""

import math
import re
from collections.abc import Iterable, Sequence

Ranking = Sequence[set[str]]

TOKEN = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]"  # one CJK character
    r"|[A-Za-z0-9\u00c0-\u024f]+"  # a run of Latin letters and digits
)
TOKEN_RULE = (
    "each CJK character is one token, each run of Latin letters/digits is one token, "
    "punctuation is not counted"
)


def recall_at(ranking: Ranking, evidence: Iterable[str], k: int) -> float:
    """Fraction of the evidence messages found among the sources of the top `k` memories: a
    multi-hop question scores 0.5 when only one of its two facts came back."""
    wanted = set(evidence)
    if not wanted:
        raise ValueError("a question without evidence cannot be scored")
    found: set[str] = set()
    for sources in ranking[:k]:
        found |= sources
    return len(wanted & found) / len(wanted)


def first_rank(ranking: Ranking, ids: Iterable[str]) -> int | None:
    """1-based rank of the first memory sourced from any of `ids`, None when none is."""
    wanted = set(ids)
    for rank, sources in enumerate(ranking, start=1):
        if sources & wanted:
            return rank
    return None


def reciprocal_rank(ranking: Ranking, evidence: Iterable[str]) -> float:
    """1 / rank of the first memory touching the evidence (0 if none does): how far down the
    list a reader has to go before anything useful appears."""
    rank = first_rank(ranking, evidence)
    return 0.0 if rank is None else 1.0 / rank


def stale_first(ranking: Ranking, evidence: Iterable[str], stale: Iterable[str]) -> bool:
    """True when the outdated fact would mislead: a memory from a stale message ranks above
    the first memory from the newer evidence, or the evidence is missing altogether. A memory
    sourced from both counts as evidence first."""
    evidence_rank = first_rank(ranking, evidence)
    if evidence_rank is None:
        return True
    stale_rank = first_rank(ranking, stale)
    return stale_rank is not None and stale_rank < evidence_rank


def count_tokens(text: str) -> int:
    """A tokenizer-free size estimate (see TOKEN_RULE) that treats Chinese and English alike,
    so the memory budget a query costs can be compared across languages and runs."""
    return len(TOKEN.findall(text))


def percentile(samples: Sequence[float], p: float) -> float:
    """The p-th percentile with linear interpolation between closest ranks (numpy's default),
    kept here so latency figures need nothing beyond the standard library."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * p / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Iterable[float]) -> float:
    """Average, 0 for no values (a group with no question scores nothing, not NaN)."""
    items = list(values)
    return sum(items) / len(items) if items else 0.0
