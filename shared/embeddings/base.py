import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np

# Passages are encoded this many at a time, the model released in between: a job of 500
# long memories does not hold a model for minutes, and other jobs' passages take turns.
PASSAGE_BATCH = 16


class Embedder(Protocol):
    """Turns text into unit-length vectors. Queries and stored passages may be encoded
    differently (e5 prefixes them), so the two are separate calls."""

    dim: int
    name: str
    # Cosine similarity of unrelated texts and of a close paraphrase: relativity maps this
    # span onto [0, 1] (README, "Relativity").
    floor: float
    ceiling: float
    # Cosine above which two statements are worded versions of one fact (measured).
    duplicate: float

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalized: np.ndarray = vectors / np.maximum(norms, 1e-12)
    return normalized


class Serialized:
    """One model instance, used by one thread at a time (its engine keeps per-call state)."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray]) -> None:
        self._encode = encode
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return normalize(self._encode(texts))


def in_batches(encode: Callable[[list[str]], np.ndarray], texts: list[str], dim: int) -> np.ndarray:
    """`encode` over `texts`, PASSAGE_BATCH at a time."""
    batches = [
        encode(texts[start : start + PASSAGE_BATCH])
        for start in range(0, len(texts), PASSAGE_BATCH)
    ]
    return np.vstack(batches) if batches else np.zeros((0, dim), dtype=np.float32)
