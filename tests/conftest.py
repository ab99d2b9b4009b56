from collections.abc import Iterator

import pytest

from shared.config import Settings
from shared.llm import build_llm
from tests.fake_llm import FakeLLM, fake_llm_server
from tests.services import postgres_server, qdrant_settings, redis_server
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
    Qdrant's engine in-process) and as distributed (PostgreSQL, qdrant-client: a Qdrant
    server from testcontainers when Docker answers, else its local mode)."""
    data_dir = tmp_path_factory.mktemp(f"stack-{request.param}")
    if request.param == "sqlite":
        with running_stack(data_dir, "", redis_url, VECTOR_STORE="edge") as running:
            yield running
        return
    with (
        qdrant_settings() as qdrant,
        running_stack(
            data_dir, request.getfixturevalue("postgres_url"), redis_url, **qdrant
        ) as running,
    ):
        yield running


@pytest.fixture
def llm(request, monkeypatch) -> Iterator[FakeLLM]:
    """An OpenAI-compatible endpoint on localhost; with the `stack` fixture, that stack's LLM
    while the test runs."""
    with fake_llm_server() as (fake, url):
        fake.client = build_llm(Settings(llm_base_url=url, llm_model="test-model"))
        if "stack" in request.fixturenames:
            monkeypatch.setattr(request.getfixturevalue("stack").runtime, "llm", fake.client)
        yield fake
