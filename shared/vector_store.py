"""The memory index in Qdrant: a server at QDRANT_URL, or local mode on disk (embedded).

Only what search filters on lives in the payload; the memory itself is read from SQL.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from shared.config import Settings
from shared.filters import MemoryFilter

DENSE = "dense"
KEYWORD_FIELDS = ("project_id", "user_id", "conversation_id", "status", "memory_type",
                  "agent_id", "app_id", "tags")
INTEGER_FIELDS = ("create_time", "update_time")


@dataclass(frozen=True)
class IndexedMemory:
    id: str
    vector: np.ndarray
    payload: dict[str, Any]


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    conversation_id: str
    confidence: float


def _condition_to_qdrant(cond) -> models.FieldCondition:
    if cond.op in ("gt", "gte", "lt", "lte"):
        return models.FieldCondition(key=cond.field, range=models.Range(**{cond.op: cond.value}))
    if isinstance(cond.value, float):
        return models.FieldCondition(key=cond.field,
                                     range=models.Range(gte=cond.value, lte=cond.value))
    return models.FieldCondition(key=cond.field, match=models.MatchValue(value=cond.value))


def to_qdrant_filter(project_id: str, user_id: str, flt: MemoryFilter | None) -> models.Filter:
    must: list[Any] = [
        models.FieldCondition(key="project_id", match=models.MatchValue(value=project_id)),
        models.FieldCondition(key="user_id", match=models.MatchValue(value=user_id)),
        models.FieldCondition(key="status", match=models.MatchValue(value="activated")),
    ]
    if flt is not None:
        conditions = [_condition_to_qdrant(c) for c in flt.conditions]
        must.append(models.Filter(must=conditions) if flt.mode == "and"
                    else models.Filter(should=conditions))
    return models.Filter(must=must)


class MemoryIndex:
    def __init__(self, settings: Settings, dim: int) -> None:
        self.collection = settings.qdrant_collection
        self.local = not settings.qdrant_url
        if self.local:
            path = settings.data_dir / "qdrant"
            path.mkdir(parents=True, exist_ok=True)
            self._client = QdrantClient(path=str(path))
        else:
            self._client = QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key,
                                        timeout=10)
        # Local mode is a single-threaded engine; a server handles its own concurrency.
        self._lock = threading.Lock() if self.local else None
        self._ensure_collection(dim)

    @contextmanager
    def _guard(self) -> Iterator[None]:
        with self._lock or nullcontext():
            yield

    def _ensure_collection(self, dim: int) -> None:
        with self._guard():
            if self._client.collection_exists(self.collection):
                info = self._client.get_collection(self.collection)
                size = info.config.params.vectors[DENSE].size
                if size != dim:
                    raise RuntimeError(
                        f"collection '{self.collection}' holds {size}-d vectors but the embedder "
                        f"makes {dim}-d ones: set QDRANT_COLLECTION to a new name or re-index"
                    )
                return
            self._client.create_collection(
                self.collection,
                vectors_config={DENSE: models.VectorParams(size=dim,
                                                           distance=models.Distance.COSINE)},
            )
            if not self.local:
                for field in KEYWORD_FIELDS:
                    self._client.create_payload_index(self.collection, field,
                                                      models.PayloadSchemaType.KEYWORD)
                for field in INTEGER_FIELDS:
                    self._client.create_payload_index(self.collection, field,
                                                      models.PayloadSchemaType.INTEGER)

    def upsert(self, items: list[IndexedMemory]) -> None:
        if not items:
            return
        points = [models.PointStruct(id=i.id, vector={DENSE: i.vector.tolist()},
                                     payload=i.payload) for i in items]
        with self._guard():
            self._client.upsert(self.collection, points=points, wait=True)

    def delete(self, ids: list[str]) -> None:
        if not ids:
            return
        with self._guard():
            self._client.delete(self.collection,
                                points_selector=models.PointIdsList(points=ids), wait=True)

    def search(self, vector: np.ndarray, project_id: str, user_id: str,
               flt: MemoryFilter | None, limit: int) -> list[Hit]:
        with self._guard():
            result = self._client.query_points(
                self.collection, query=vector.tolist(), using=DENSE,
                query_filter=to_qdrant_filter(project_id, user_id, flt), limit=limit,
                with_payload=["conversation_id", "confidence"],
            )
        return [Hit(str(p.id), float(p.score), p.payload["conversation_id"],
                    float(p.payload.get("confidence", 0.0))) for p in result.points]

    def count(self, project_id: str, user_id: str) -> int:
        with self._guard():
            return self._client.count(
                self.collection, count_filter=to_qdrant_filter(project_id, user_id, None)
            ).count

    def close(self) -> None:
        with self._guard():
            self._client.close()


_index: MemoryIndex | None = None
_index_lock = threading.Lock()


def get_memory_index() -> MemoryIndex:
    """One index per process: local mode allows a single opener of its folder."""
    global _index
    if _index is None:
        with _index_lock:
            if _index is None:
                from shared.config import get_settings
                from shared.embeddings import get_embedder

                _index = MemoryIndex(get_settings(), get_embedder().dim)
    return _index
