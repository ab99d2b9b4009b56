"""Several embedders as one: weighted, concatenated unit vectors, so the cosine of two
ensemble vectors is the weighted mean of the members' cosines.

e5 ranks English question → statement well; USE separates Chinese paraphrases far better
(国庆去哪玩 → 暑假出游). Together they beat either alone (README, "Embeddings").
"""

import numpy as np

from shared.embeddings.base import Embedder


class EnsembleEmbedder:
    def __init__(self, members: list[tuple[Embedder, float]]) -> None:
        total = sum(weight for _, weight in members)
        self._members = [(embedder, float(np.sqrt(weight / total))) for embedder, weight in members]
        self.dim = sum(embedder.dim for embedder, _ in members)
        self.name = "+".join(embedder.name for embedder, _ in members)
        self.floor = sum(e.floor * w / total for e, w in members)
        self.ceiling = sum(e.ceiling * w / total for e, w in members)
        self.duplicate = sum(e.duplicate * w / total for e, w in members)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.hstack([scale * e.embed_queries(texts) for e, scale in self._members])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.hstack([scale * e.embed_passages(texts) for e, scale in self._members])
