from collections.abc import Iterator

import pytest

from tests.services import postgres_server, redis_server
from tests.stack import Stack, running_stack


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def stack(request, tmp_path_factory, redis_url) -> Iterator[Stack]:
    """The service with a real Celery worker on a real Redis, twice: as embedded (SQLite,
    Qdrant's engine in-process) and as distributed (PostgreSQL, qdrant-client: the code path
    of a Qdrant server, through its local mode)."""
    data_dir = tmp_path_factory.mktemp(f"stack-{request.param}")
    if request.param == "sqlite":
        database_url, vector_store = "", "edge"
    else:
        database_url, vector_store = request.getfixturevalue("postgres_url"), "qdrant-local"
    with running_stack(data_dir, database_url, redis_url, VECTOR_STORE=vector_store) as running:
        yield running
