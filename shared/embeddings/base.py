from typing import Protocol

import numpy as np


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
    return vectors / np.maximum(norms, 1e-12)
