"""The memory index, chosen by configuration: a Qdrant server when QDRANT_URL is set,
else Qdrant's engine in-process (VECTOR_STORE=edge, the embedded default), qdrant-client's
local mode (VECTOR_STORE=qdrant-local), or, for workers and gateways, the index a retriever
process owns (VECTOR_STORE=remote: writes only). Adding a backend is one new module here."""

from collections.abc import Callable

from shared.config import Settings
from shared.vector_store.base import (
    KNOWLEDGE,
    PREFERENCES,
    PUBLIC,
    SKILLS,
    TOOLS,
    Candidate,
    IndexedMemory,
    MemoryIndex,
    Query,
    candidates,
    kind_group,
    knowledge_user,
    knowledgebase_of,
)

__all__ = [
    "KNOWLEDGE",
    "PREFERENCES",
    "SKILLS",
    "PUBLIC",
    "knowledge_user",
    "knowledgebase_of",
    "TOOLS",
    "kind_group",
    "Candidate",
    "IndexedMemory",
    "MemoryIndex",
    "Query",
    "candidates",
    "build_memory_index",
]


def build_memory_index(settings: Settings, dim: Callable[[], int]) -> MemoryIndex:
    """`dim` is asked only by the indexes that create their collection (the embedder's)."""
    if settings.vector_store == "remote" and not settings.qdrant_url:
        from shared.vector_store.remote import RemoteIndex

        return RemoteIndex.of(settings)
    if settings.qdrant_url or settings.vector_store == "qdrant-local":
        from shared.vector_store.qdrant_client_index import QdrantClientIndex

        return QdrantClientIndex(settings, dim())
    if settings.vector_store == "edge":
        from shared.vector_store.edge import EdgeIndex

        return EdgeIndex(settings.data_dir / "qdrant-edge" / settings.qdrant_collection, dim())
    raise ValueError(f"VECTOR_STORE={settings.vector_store!r}: choose edge, qdrant-local or remote")
