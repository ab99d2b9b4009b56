"""Words as a sparse vector, for the lexical half of hybrid search (Chinese segmented in
search mode, English lower-cased, stopwords dropped). Indices are stable hashes of the words,
so every process encodes alike; Qdrant weighs them by IDF."""

import math
import zlib
from collections import Counter
from dataclasses import dataclass

from shared.text import CJK, EN_STOPWORDS, segment

ZH_STOPWORDS = frozenset("""
的 了 是 我 你 您 他 她 它 们 我们 你们 他们 在 和 与 也 都 就 吗 呢 吧 啊 呀 哦 嗯 这 那 这个 那个
有 没 很 还 要 会 能 想 一 个 上 下 去 来 到 说 对 好 把 被 给 让 从 向 用户 助手 什么 怎么 哪 哪里
""".split())


@dataclass(frozen=True)
class Terms:
    """A sparse vector: hashed word ids and their weights."""

    indices: list[int]
    values: list[float]


def words(text: str) -> list[str]:
    return [w for w in segment(text) if w not in EN_STOPWORDS and w not in ZH_STOPWORDS
            and (len(w) > 1 or CJK.match(w))]


def term_id(word: str) -> int:
    return zlib.crc32(word.encode())


def document_terms(text: str) -> Terms:
    counts = Counter(term_id(w) for w in words(text))
    ids = sorted(counts)
    return Terms(ids, [1.0 + math.log(counts[i]) for i in ids])


def query_terms(text: str) -> tuple[Terms, dict[int, float]]:
    """The query's sparse vector, and how much each word says: a lone Chinese character
    says less than a word."""
    weights: dict[int, float] = {}
    for word in words(text):
        weights[term_id(word)] = max(weights.get(term_id(word), 0.0),
                                     0.3 if len(word) == 1 else 1.0)
    ids = sorted(weights)
    return Terms(ids, [1.0] * len(ids)), weights


def coverage(query_weights: dict[int, float], memory_terms: set[int]) -> float:
    """The share of what the query says that the memory contains, in [0, 1]."""
    total = sum(query_weights.values())
    if not total:
        return 0.0
    return sum(w for i, w in query_weights.items() if i in memory_terms) / total
