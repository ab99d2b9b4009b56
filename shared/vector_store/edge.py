"""The embedded index: Qdrant's own engine in-process (qdrant-edge), on disk in DATA_DIR.

Same collection layout as on a server (named dense vector, keyword and integer payload
indexes), with a write-ahead log, so an acknowledged upsert survives a crash."""

import logging
import time
from pathlib import Path
from uuid import UUID

import qdrant_edge as edge

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

log = logging.getLogger(__name__)
# Points outside the HNSW graph are searched by brute force: cheap for a few thousand.
INDEX_BACKLOG = 5000

DIALECT = FilterDialect(
    filter=edge.Filter,
    field=edge.FieldCondition,
    match=edge.MatchValue,
    match_any=edge.MatchAny,
    range=edge.RangeFloat,
    has_id=lambda ids: edge.HasIdCondition(set(ids)),
)


class EdgeIndex:
    def __init__(self, path: Path, dim: int) -> None:
        self._path = path
        config = edge.EdgeConfig(
            vectors={DENSE: edge.EdgeVectorParams(size=dim, distance=edge.Distance.Cosine)},
            sparse_vectors={LEXICAL: edge.EdgeSparseVectorParams(modifier=edge.Modifier.Idf)},
        )
        if (path / "edge_config.json").exists():
            try:
                self._shard = edge.EdgeShard.load(str(path), config)
            except Exception as exc:  # e.g. vectors of another size: a different embedder
                raise RuntimeError(
                    f"cannot open the index in {path} for {dim}-d vectors "
                    f"({exc}); move it away to re-index"
                ) from exc
            self._index_backlog()
        else:
            path.mkdir(parents=True, exist_ok=True)
            self._shard = edge.EdgeShard.create(str(path), config)
        # Fields a later version filters on are indexed in an index made before it.
        indexed = self._shard.info().payload_schema
        for fields, schema in (
            (KEYWORD_FIELDS, edge.PayloadSchemaType.Keyword),
            (INTEGER_FIELDS, edge.PayloadSchemaType.Integer),
        ):
            for field in fields:
                if field not in indexed:
                    self._shard.update(edge.UpdateOperation.create_field_index(field, schema))

    def upsert(self, items: list[IndexedMemory]) -> None:
        if items:
            self._shard.update(
                edge.UpdateOperation.upsert_points(
                    [
                        edge.Point(
                            i.id,
                            {
                                DENSE: i.vector.tolist(),
                                LEXICAL: edge.SparseVector(i.terms.indices, i.terms.values),
                            },
                            i.payload,
                        )
                        for i in items
                    ]
                )
            )

    def delete(self, ids: list[str]) -> None:
        if ids:
            point_ids: list[int | UUID | str] = list(ids)
            self._shard.update(edge.UpdateOperation.delete_points(point_ids))

    def delete_user(self, project_id: str, user_id: str) -> None:
        self._shard.update(
            edge.UpdateOperation.delete_points_by_filter(DIALECT.user_filter(project_id, user_id))
        )

    def query(
        self,
        queries: list[Query],
        project_id: str,
        user_id: str | list[str],
        flt: MemoryFilter | None,
    ) -> list[list[Candidate]]:
        requests = [_request(q, project_id, user_id, flt, ranking=True) for q in queries]
        results = self._shard.query_batch(edge.QueryBatchRequest(requests))
        return [[to_candidate(p, _sparse_indices) for p in points] for points in results]

    def scores(
        self,
        queries: list[Query],
        project_id: str,
        user_id: str | list[str],
        flt: MemoryFilter | None,
    ) -> list[dict[str, float]]:
        requests = [_request(q, project_id, user_id, flt, ranking=False) for q in queries]
        results = self._shard.query_batch(edge.QueryBatchRequest(requests))
        return [{str(p.id): float(p.score) for p in points} for points in results]

    def _index_backlog(self) -> None:
        """Builds the HNSW graph for points written since the last start, before serving:
        building it blocks searches (measured: every query waited the whole 3.9 s of a 30k
        build), so it happens at start, never while requests run."""
        marker = self._path / "indexed-points"
        points = self._shard.info().points_count
        indexed = int(marker.read_text()) if marker.exists() else 0
        if points - indexed >= INDEX_BACKLOG:
            started = time.perf_counter()
            self.optimize()
            marker.write_text(str(points))
            log.info(
                "index built",
                extra={
                    "points": points,
                    "backlog": points - indexed,
                    "seconds": round(time.perf_counter() - started, 1),
                },
            )

    def optimize(self) -> None:
        """Builds the HNSW graph over what was written (blocks until done)."""
        self._shard.optimize()

    def close(self) -> None:
        self._shard.flush()
        self._shard.close()


def _request(
    q: Query, project_id: str, user_id: str | list[str], flt: MemoryFilter | None, *, ranking: bool
) -> edge.QueryRequest:
    """With `ranking`, the hits come with their vectors and what ranking reads of the payload
    (measured at 100k memories: making Python objects of those took half of a 50-hit query's
    4.9 ms)."""
    by = edge.SparseVector(q.by.indices, q.by.values) if isinstance(q.by, Terms) else q.by.tolist()
    return edge.QueryRequest(
        limit=q.limit,
        filter=DIALECT.search_filter(project_id, user_id, flt, q.ids, q.kinds),
        with_vector=(True if q.vectors else [LEXICAL]) if ranking else False,
        with_payload=RANKING_FIELDS if ranking else False,
        query=edge.Query.Nearest(by, using=LEXICAL if isinstance(q.by, Terms) else DENSE),
    )


def _sparse_indices(sparse: edge.SparseVector | None) -> list[int]:
    return sparse.indices if sparse else []
