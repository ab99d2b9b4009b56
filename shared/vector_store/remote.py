"""The index of another process: workers and gateways write through the retriever that owns
an in-process Qdrant (VECTOR_STORE=remote, INDEX_URL), for clusters without a Qdrant server.
Searches go to that retriever's search endpoint, so this side only writes."""

from shared.config import Settings
from shared.errors import MemoryServiceUnavailable
from shared.internal_http import InternalClient
from shared.vector_store.base import IndexedMemory


class RemoteIndex:
    def __init__(self, settings: Settings) -> None:
        url = settings.index_url or settings.retriever_url
        if not url:
            raise ValueError("VECTOR_STORE=remote needs INDEX_URL (or RETRIEVER_URL): the "
                             "retriever that owns the index")
        self._client = InternalClient(url, settings.internal_token, settings.retriever_timeout,
                                      MemoryServiceUnavailable)

    def upsert(self, items: list[IndexedMemory]) -> None:
        if items:
            self._client.call("/internal/index/upsert", {"items": [
                {"id": i.id, "vector": i.vector, "indices": i.terms.indices,
                 "values": i.terms.values, "payload": i.payload} for i in items]})

    def delete(self, ids: list[str]) -> None:
        if ids:
            self._client.call("/internal/index/delete", {"ids": ids})

    def close(self) -> None:
        self._client.close()
