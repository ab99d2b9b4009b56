"""The index on a Qdrant server (QDRANT_URL) through qdrant-client; without a URL, the same
client's local mode on disk (one opener per folder, slow past ~20k points: see README)."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from qdrant_client import QdrantClient, models

from shared.config import Settings
from shared.filters import MemoryFilter
from shared.lexical import Terms
from shared.vector_store.base import (
    DENSE,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    LEXICAL,
    RANKING_FIELDS,
    Candidate,
    FilterDialect,
    IndexedMemory,
    Query,
    to_candidate,
)

DIALECT = FilterDialect(
    filter=models.Filter,
    field=models.FieldCondition,
    match=lambda value: models.MatchValue(value=value),
    match_any=lambda values: models.MatchAny(any=values),
    range=models.Range,
    has_id=lambda ids: models.HasIdCondition(has_id=ids),
)


class QdrantClientIndex:
    def __init__(self, settings: Settings, dim: int) -> None:
        self.collection = settings.qdrant_collection
        self.local = not settings.qdrant_url
        if self.local:
            path = settings.data_dir / "qdrant-local"
            path.mkdir(parents=True, exist_ok=True)
            self._client = QdrantClient(path=str(path))
        else:
            self._client = QdrantClient(
                url=settings.qdrant_url, api_key=settings.qdrant_api_key, timeout=10
            )
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
                found = self._client.get_collection(self.collection)
                vectors = found.config.params.vectors  # named vectors, as made below
                size = (
                    vectors[DENSE].size if isinstance(vectors, dict) and DENSE in vectors else None
                )
                if size != dim or LEXICAL not in (found.config.params.sparse_vectors or {}):
                    raise RuntimeError(
                        f"collection '{self.collection}' is not laid out for this version "
                        f"({size}-d dense vectors, {dim}-d expected, and a '{LEXICAL}' sparse "
                        "vector): set QDRANT_COLLECTION to a new name or re-index"
                    )
                indexed = set(found.payload_schema)
            else:
                self._client.create_collection(
                    self.collection,
                    vectors_config={
                        DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)
                    },
                    sparse_vectors_config={
                        LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)
                    },
                )
                indexed = set()
            if self.local:
                return  # local mode keeps no payload indexes
            # Fields a later version filters on are indexed in a collection made before it.
            for fields, schema in (
                (KEYWORD_FIELDS, models.PayloadSchemaType.KEYWORD),
                (INTEGER_FIELDS, models.PayloadSchemaType.INTEGER),
            ):
                for field in fields:
                    if field not in indexed:
                        self._client.create_payload_index(self.collection, field, schema)

    def upsert(self, items: list[IndexedMemory]) -> None:
        if not items:
            return
        points = [
            models.PointStruct(
                id=i.id,
                vector={
                    DENSE: i.vector.tolist(),
                    LEXICAL: models.SparseVector(indices=i.terms.indices, values=i.terms.values),
                },
                payload=i.payload,
            )
            for i in items
        ]
        with self._guard():
            self._client.upsert(self.collection, points=points, wait=True)

    def delete(self, ids: list[str]) -> None:
        if not ids:
            return
        with self._guard():
            self._client.delete(
                self.collection, points_selector=models.PointIdsList(points=ids), wait=True
            )

    def delete_user(self, project_id: str, user_id: str) -> None:
        selector = models.FilterSelector(filter=DIALECT.user_filter(project_id, user_id))
        with self._guard():
            self._client.delete(self.collection, points_selector=selector, wait=True)

    def query(
        self,
        queries: list[Query],
        project_id: str,
        user_id: str | list[str],
        flt: MemoryFilter | None,
    ) -> list[list[Candidate]]:
        requests = [_request(q, project_id, user_id, flt, ranking=True) for q in queries]
        with self._guard():
            results = self._client.query_batch_points(self.collection, requests)
        return [
            [to_candidate(p, lambda sparse: sparse.indices if sparse else []) for p in r.points]
            for r in results
        ]

    def scores(
        self,
        queries: list[Query],
        project_id: str,
        user_id: str | list[str],
        flt: MemoryFilter | None,
    ) -> list[dict[str, float]]:
        requests = [_request(q, project_id, user_id, flt, ranking=False) for q in queries]
        with self._guard():
            results = self._client.query_batch_points(self.collection, requests)
        return [{str(p.id): float(p.score) for p in r.points} for r in results]

    def close(self) -> None:
        with self._guard():
            self._client.close()


def _request(
    q: Query, project_id: str, user_id: str | list[str], flt: MemoryFilter | None, *, ranking: bool
) -> models.QueryRequest:
    """With `ranking`, the hits come with their vectors (`q.vectors`, else their words) and
    what ranking reads of the payload."""
    return models.QueryRequest(
        query=(
            models.SparseVector(indices=q.by.indices, values=q.by.values)
            if isinstance(q.by, Terms)
            else q.by.tolist()
        ),
        using=LEXICAL if isinstance(q.by, Terms) else DENSE,
        limit=q.limit,
        filter=DIALECT.search_filter(project_id, user_id, flt, q.ids, q.kinds),
        with_vector=(True if q.vectors else [LEXICAL]) if ranking else False,
        with_payload=RANKING_FIELDS if ranking else False,
    )
