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
    """The service on the embedded SQLite and on PostgreSQL, each with a real Celery worker on
    a real Redis and Qdrant local mode."""
    data_dir = tmp_path_factory.mktemp(f"stack-{request.param}")
    database_url = "" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    with running_stack(data_dir, database_url, redis_url) as running:
        yield running
