"""The index of another process: workers and gateways use the index of the retriever that
owns an in-process Qdrant (VECTOR_STORE=remote, INDEX_URL), for clusters without a Qdrant
server."""

from dataclasses import asdict

import numpy as np

from shared.config import Settings
from shared.errors import APIError, MemoryServiceUnavailable
from shared.filters import MemoryFilter
from shared.internal_http import InternalClient
from shared.lexical import Terms
from shared.vector_store.base import Candidate, IndexedMemory, Query


def retriever_client(url: str, settings: Settings, unavailable: type[APIError]) -> InternalClient:
    """A client of the retriever at `url`, answering `unavailable` when it does not answer."""
    return InternalClient(url, settings.internal_token, settings.retriever_timeout, unavailable)


class RemoteIndex:
    """Over a client of the retriever that owns the index."""

    def __init__(self, client: InternalClient) -> None:
        self._client = client

    @classmethod
    def of(cls, settings: Settings) -> "RemoteIndex":
        url = settings.index_url or settings.retriever_url
        if not url:
            raise ValueError(
                "VECTOR_STORE=remote needs INDEX_URL (or RETRIEVER_URL): the "
                "retriever that owns the index"
            )
        return cls(retriever_client(url, settings, MemoryServiceUnavailable))

    def upsert(self, items: list[IndexedMemory]) -> None:
        if items:
            self._client.call(
                "/internal/index/upsert",
                {
                    "items": [
                        {
                            "id": i.id,
                            "vector": i.vector,
                            "indices": i.terms.indices,
                            "values": i.terms.values,
                            "payload": i.payload,
                        }
                        for i in items
                    ]
                },
            )

    def query(
        self,
        queries: list[Query],
        project_id: str,
        user_id: str | list[str],
        flt: MemoryFilter | None,
    ) -> list[list[Candidate]]:
        found = self._client.call(
            "/internal/index/query",
            {
                "queries": [
                    {
                        "vector": None if isinstance(q.by, Terms) else q.by,
                        "indices": q.by.indices if isinstance(q.by, Terms) else None,
                        "values": q.by.values if isinstance(q.by, Terms) else None,
                        "limit": q.limit,
                        "ids": q.ids,
                        "kinds": q.kinds,
                        "vectors": q.vectors,
                    }
                    for q in queries
                ],
                "project_id": project_id,
                "user_id": user_id,
                "filter": asdict(flt) if flt else None,
            },
        )
        return [
            [
                Candidate(
                    **{
                        **c,
                        "vector": None
                        if c["vector"] is None
                        else np.asarray(c["vector"], dtype=np.float32),
                        "terms": frozenset(c["terms"]),
                    }
                )
                for c in hits
            ]
            for hits in found
        ]

    def scores(
        self,
        queries: list[Query],
        project_id: str,
        user_id: str | list[str],
        flt: MemoryFilter | None,
    ) -> list[dict[str, float]]:
        return [
            {c.id: c.score for c in hits} for hits in self.query(queries, project_id, user_id, flt)
        ]

    def delete(self, ids: list[str]) -> None:
        if ids:
            self._client.call("/internal/index/delete", {"ids": ids})

    def delete_user(self, project_id: str, user_id: str) -> None:
        self._client.call(
            "/internal/index/delete-user", {"project_id": project_id, "user_id": user_id}
        )

    def close(self) -> None:
        self._client.close()
