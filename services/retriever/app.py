"""The retriever as its own process: search for gateways, behind a shared token."""

from dataclasses import asdict
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel

from services.retriever.service import rerank, search_memories
from shared.filters import MemoryFilter
from shared.http import JSONBytes, install_error_handlers, ok
from shared.internal_http import internal_caller
from shared.lexical import Terms
from shared.metrics import install_metrics
from shared.runtime import CurrentRuntime, Runtime
from shared.schemas import RerankRequest, SearchQuery
from shared.vector_store import IndexedMemory, Query


class IndexItem(BaseModel):
    id: str
    vector: list[float]
    indices: list[int]
    values: list[float]
    payload: dict[str, Any]


class IndexUpsert(BaseModel):
    items: list[IndexItem]


class IndexDelete(BaseModel):
    ids: list[str]


class IndexUser(BaseModel):
    project_id: str
    user_id: str


class IndexRequest(BaseModel):
    vector: list[float] | None = None
    indices: list[int] | None = None
    values: list[float] | None = None
    limit: int
    ids: list[str] | None = None
    kinds: tuple[str, ...] | None = None
    vectors: bool = True

    def query(self) -> Query:
        by = (
            np.asarray(self.vector, dtype=np.float32)
            if self.vector is not None
            else Terms(self.indices or [], self.values or [])
        )
        return Query(by, self.limit, self.ids, self.kinds, self.vectors)


class IndexQuery(BaseModel):
    queries: list[IndexRequest]
    project_id: str
    user_id: str | list[str]
    filter: dict[str, Any] | None = None


def create_app(runtime: Runtime) -> FastAPI:
    """The retriever's app over a runtime its caller built (and closes)."""
    app = FastAPI(title="memory retriever", docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    install_error_handlers(app)
    install_metrics(app, "retriever")
    internal = APIRouter(prefix="/internal", dependencies=[Depends(internal_caller)])

    @internal.post("/search")
    def search(body: SearchQuery, runtime: CurrentRuntime) -> JSONBytes:
        return ok(search_memories(runtime, body.project_id, body.request))

    @internal.post("/rerank")
    def rerank_documents(body: RerankRequest, runtime: CurrentRuntime) -> JSONBytes:
        return ok(rerank(runtime, body))

    @internal.post("/index/upsert")
    def index_upsert(body: IndexUpsert, runtime: CurrentRuntime) -> JSONBytes:
        """Workers without a Qdrant server of their own write through this process."""
        runtime.index.upsert(
            [
                IndexedMemory(
                    i.id,
                    np.asarray(i.vector, dtype=np.float32),
                    Terms(i.indices, i.values),
                    i.payload,
                )
                for i in body.items
            ]
        )
        return ok({"upserted": len(body.items)})

    @internal.post("/index/query")
    def index_query(body: IndexQuery, runtime: CurrentRuntime) -> JSONBytes:
        flt = MemoryFilter.of(body.filter) if body.filter else None
        found = runtime.index.query(
            [q.query() for q in body.queries], body.project_id, body.user_id, flt or None
        )
        return ok(
            [
                [
                    {
                        **asdict(c),
                        "vector": None if c.vector is None else c.vector.tolist(),
                        "terms": sorted(c.terms),
                    }
                    for c in hits
                ]
                for hits in found
            ]
        )

    @internal.post("/index/delete")
    def index_delete(body: IndexDelete, runtime: CurrentRuntime) -> JSONBytes:
        runtime.index.delete(body.ids)
        return ok({"deleted": len(body.ids)})

    @internal.post("/index/delete-user")
    def index_delete_user(body: IndexUser, runtime: CurrentRuntime) -> JSONBytes:
        """An erasure: every point of the user, whether SQL still knows it or not."""
        runtime.index.delete_user(body.project_id, body.user_id)
        return ok({})

    app.include_router(internal)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
