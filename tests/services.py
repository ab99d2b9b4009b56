"""The real servers tests use: testcontainers when a Docker engine answers, else the
machine's own PostgreSQL and Redis. Unreachable means the tests that need them fail, saying
how to start them: a database test that does not run proves nothing."""

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
LOCAL_POSTGRES = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
LOCAL_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


def unavailable(what: str) -> None:
    ci = "CI=true and " if IN_CI else ""
    pytest.fail(f"{ci}{what} is not reachable; start it (see README, 'Tests')", pytrace=False)


@contextmanager
def postgres_server() -> Iterator[str]:
    """A URL of a fresh, empty database, dropped afterwards."""
    if docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="psycopg") as container:
            yield container.get_connection_url()
        return
    if not reachable("127.0.0.1", 5432):
        unavailable("PostgreSQL at 127.0.0.1:5432")
    import psycopg

    name = f"memos_test_{uuid.uuid4().hex[:10]}"
    admin = LOCAL_POSTGRES.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield LOCAL_POSTGRES.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def qdrant_settings() -> Iterator[dict[str, str]]:
    """A Qdrant server from testcontainers when Docker answers; else qdrant-client's local
    mode, which runs the same client code path (no Qdrant server installs here)."""
    if docker_answers():
        from testcontainers.qdrant import QdrantContainer

        with QdrantContainer("qdrant/qdrant:v1.12.4") as container:
            host = container.get_container_host_ip()
            yield {"QDRANT_URL": f"http://{host}:{container.get_exposed_port(6333)}"}
        return
    yield {"VECTOR_STORE": "qdrant-local"}


@contextmanager
def redis_server() -> Iterator[str]:
    if docker_answers():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7-alpine") as container:
            host = container.get_container_host_ip()
            yield f"redis://{host}:{container.get_exposed_port(6379)}/0"
        return
    if not reachable("127.0.0.1", 6379):
        unavailable("Redis at 127.0.0.1:6379")
    import redis

    redis.Redis.from_url(LOCAL_REDIS).flushdb()
    yield LOCAL_REDIS
