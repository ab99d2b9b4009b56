"""The embedded index: Qdrant's own engine in-process (qdrant-edge), on disk in DATA_DIR.

Same collection layout as on a server (named dense vector, keyword and integer payload
indexes), with a write-ahead log, so an acknowledged upsert survives a crash."""

from pathlib import Path

import numpy as np
import qdrant_edge as edge

from shared.filters import MemoryFilter
from shared.vector_store.base import (
    DENSE,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    FilterDialect,
    Hit,
    IndexedMemory,
    to_hit,
)

DIALECT = FilterDialect(filter=edge.Filter, field=edge.FieldCondition, match=edge.MatchValue,
                        range=edge.RangeFloat)


class EdgeIndex:
    def __init__(self, path: Path, dim: int) -> None:
        config = edge.EdgeConfig(vectors={DENSE: edge.EdgeVectorParams(
            size=dim, distance=edge.Distance.Cosine)})
        if (path / "edge_config.json").exists():
            try:
                self._shard = edge.EdgeShard.load(str(path), config)
            except Exception as exc:  # e.g. vectors of another size: a different embedder
                raise RuntimeError(f"cannot open the index in {path} for {dim}-d vectors "
                                   f"({exc}); move it away to re-index") from exc
            return
        path.mkdir(parents=True, exist_ok=True)
        self._shard = edge.EdgeShard.create(str(path), config)
        for field in KEYWORD_FIELDS:
            self._shard.update(edge.UpdateOperation.create_field_index(
                field, edge.PayloadSchemaType.Keyword))
        for field in INTEGER_FIELDS:
            self._shard.update(edge.UpdateOperation.create_field_index(
                field, edge.PayloadSchemaType.Integer))

    def upsert(self, items: list[IndexedMemory]) -> None:
        if items:
            self._shard.update(edge.UpdateOperation.upsert_points([
                edge.Point(i.id, {DENSE: i.vector.tolist()}, i.payload) for i in items]))

    def delete(self, ids: list[str]) -> None:
        if ids:
            self._shard.update(edge.UpdateOperation.delete_points(ids))

    def search(self, vector: np.ndarray, project_id: str, user_id: str,
               flt: MemoryFilter | None, limit: int) -> list[Hit]:
        points = self._shard.query(edge.QueryRequest(
            limit=limit, query=edge.Query.Nearest(vector.tolist(), using=DENSE),
            filter=DIALECT.search_filter(project_id, user_id, flt),
            with_payload=["conversation_id", "confidence"]))
        return [to_hit(p.id, p.score, p.payload) for p in points]

    def close(self) -> None:
        self._shard.flush()
        self._shard.close()
