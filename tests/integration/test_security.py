"""Exposure: the internal token, failed authentications, /metrics labels, /docs offline, the
worker's metrics bind and the compose file."""

import hmac
import os
import random
import re
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, generate_latest

from services.gateway.keys.service import hash_key
from shared.config import Settings
from shared.internal_http import token_matches, unsafe_token_reason
from shared.runtime import Runtime
from tests.e2e.process import MEMOS, run_service
from tests.services import LOCAL_REDIS
from tests.stack import API, settings_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("host", "token", "refused"),
    [
        ("0.0.0.0", "change-me", True),
        ("::", "change-me", True),
        ("10.1.2.3", "", True),
        ("memos.example.com", "change-me", True),  # a name may resolve anywhere
        ("127.0.0.1", "change-me", False),
        ("127.0.0.2", "change-me", False),
        ("::1", "change-me", False),
        ("localhost", "change-me", False),
        ("0.0.0.0", "a-secret-of-our-own", False),
    ],
)
def test_default_or_empty_token_is_refused_beyond_loopback(
    host: str, token: str, refused: bool
) -> None:
    reason = unsafe_token_reason("retriever", Settings(host=host, internal_token=token))
    assert (reason is not None) == refused
    if refused:
        assert f"HOST={host}" in reason and "INTERNAL_TOKEN" in reason and ".env" in reason


def clean_env(**env: str) -> dict[str, str]:
    """This process's environment without any memos setting, plus `env`."""
    names = set(Settings.model_fields) | {"DATA_DIR"}
    return {**{k: v for k, v in os.environ.items() if k.lower() not in names}, **env}


@pytest.mark.parametrize("command", ["retriever", "gateway", "worker"])
def test_service_on_all_interfaces_with_the_default_token_exits(
    command: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [MEMOS, command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(HOST="0.0.0.0", DATA_DIR=str(tmp_path)),
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "refusing to listen on HOST=0.0.0.0" in done.stderr
    assert "INTERNAL_TOKEN=" in done.stderr and ">> .env" in done.stderr  # how to set it
    assert not list(tmp_path.iterdir()), "it opened its data dir before refusing"


def test_retriever_on_all_interfaces_with_its_own_token_starts(tmp_path: Path) -> None:
    with run_service(
        "retriever", tmp_path / "data", HOST="0.0.0.0", INTERNAL_TOKEN="a-secret-of-our-own"
    ) as retriever:
        stranger = httpx.post(
            retriever.base + "/internal/index/delete",
            json={"ids": ["x"]},
            headers={"X-Internal-Token": "change-me"},
        )
        assert stranger.status_code == 401 and stranger.json()["code"] == 40132


@contextmanager
def embedded_runtime(tmp_path: Path, **env: str) -> Iterator[Runtime]:
    """A runtime of the embedded default in tmp_path, its database migrated."""
    from shared.db.migrate import upgrade_database

    defaults = {
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "LOG_JSON": "false",
        "LOG_LEVEL": "WARNING",
        "RETRIEVER_URL": "",
        "RATE_LIMIT_PER_SECOND": "0",
    }
    runtime = Runtime(settings_for(**{**defaults, **env}))
    upgrade_database(runtime.db)
    try:
        yield runtime
    finally:
        runtime.close()


def test_internal_token_is_compared_in_constant_time(tmp_path, monkeypatch) -> None:
    from services.retriever.app import create_app

    compared = []

    def spy(a, b):
        compared.append((a, b))
        return hmac_compare(a, b)

    hmac_compare = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert token_matches("the-right-token", "the-right-token")
    assert compared == [(b"the-right-token", b"the-right-token")]
    assert not token_matches("the-right-tokem", "the-right-token")
    assert not token_matches("", "") and not token_matches(None, "the-right-token")
    with embedded_runtime(tmp_path, INTERNAL_TOKEN="the-right-token") as runtime:
        client = TestClient(create_app(runtime), raise_server_exceptions=False)
        for header in (
            {},
            {"X-Internal-Token": "change-me"},
            {"X-Internal-Token": "é".encode("latin-1")},
        ):  # not ASCII: no 500
            answer = client.post("/internal/index/delete", json={"ids": ["x"]}, headers=header)
            assert answer.status_code == 401 and answer.json()["code"] == 40132, answer.text
    assert len(compared) == 4  # the missing header needs no comparison


def with_client_address(app):
    """The app, seeing each request come from the address in its X-Test-Address header."""

    async def asgi(scope, receive, send):
        address = dict(scope.get("headers", ())).get(b"x-test-address")
        if address:
            scope = {**scope, "client": (address.decode(), 40000)}
        await app(scope, receive, send)

    return asgi


@pytest.fixture(params=["in-process", "redis"])
def gateway(request, tmp_path) -> Iterator[tuple[TestClient, FastAPI]]:
    from services.gateway.app import create_app

    with (
        embedded_runtime(
            tmp_path,
            AUTH_FAILURES_PER_SECOND="1",
            AUTH_FAILURE_BURST="5",
            REDIS_URL="" if request.param == "in-process" else LOCAL_REDIS,
        ) as runtime,
        TestClient(
            with_client_address(app := create_app(runtime, run_relay=False)),
            raise_server_exceptions=False,
        ) as client,
    ):
        yield client, app


def new_key(runtime: Runtime, project: str) -> str:
    from services.gateway.keys.service import create_key

    with runtime.db.transaction() as session:
        return create_key(session, project)[1]


def test_failed_authentications_are_limited_per_client_address(gateway) -> None:
    client, app = gateway
    runtime = app.state.gateway.runtime

    def get_memory(key: str, address: str) -> httpx.Response:
        return client.post(
            API + "/get/memory",
            json={"user_id": "u"},
            headers={"Authorization": f"Token {key}", "X-Test-Address": address},
        )

    # Fresh addresses each run: the Redis buckets outlive the test.
    attacker, bystander = (
        f"198.51.100.{random.randrange(1, 255)}-{uuid.uuid4().hex[:6]}" for _ in range(2)
    )
    valid, other_valid = new_key(runtime, "p"), new_key(runtime, "q")
    assert get_memory(valid, attacker).json()["code"] == 0
    for _ in range(5):  # the burst
        assert get_memory(f"mpg-{uuid.uuid4().hex}", attacker).json()["code"] == 40132
    refused = get_memory(f"mpg-{uuid.uuid4().hex}", attacker)
    assert refused.status_code == 429 and refused.json()["code"] == 40300, refused.text
    assert "failed authentications" in refused.json()["message"]
    assert int(refused.headers["Retry-After"]) >= 1
    # Blocked now: refused before the key is looked up, even an unknown valid key.
    assert get_memory(other_valid, attacker).json()["code"] == 40300
    # A key that was valid when last seen still works from there, even once out of the
    # cache; other clients are not held up.
    keys = app.state.gateway.keys
    keys._entries[hash_key(valid)] = (0.0, keys._entries[hash_key(valid)][1])
    assert get_memory(valid, attacker).json()["code"] == 0
    assert get_memory(other_valid, bystander).json()["code"] == 0
    assert get_memory(f"mpg-{uuid.uuid4().hex}", bystander).json()["code"] == 40132


def test_project_labels_can_be_turned_off(tmp_path) -> None:
    from shared.db.models import Memory
    from shared.metrics import MEMORIES_WRITTEN, ServiceState, project_label

    with embedded_runtime(tmp_path) as runtime:
        with runtime.db.transaction() as session:
            for project in ("acme-secret-1", "acme-secret-2"):
                session.add(
                    Memory(
                        id=str(uuid.uuid4()),
                        project_id=project,
                        user_id="u",
                        conversation_id="c",
                        task_id=str(uuid.uuid4()),
                        memory_key="k",
                        memory_value="v",
                        create_time=1,
                        update_time=1,
                    )
                )

        def memories_gauge(by_project: bool) -> dict[str, float]:
            state = ServiceState(runtime.db, runtime.queue, by_project)
            family = next(f for f in state._read() if f.name == "memos_memories")
            return {s.labels["project"]: s.value for s in family.samples}

        assert memories_gauge(by_project=True) == {"acme-secret-1": 1, "acme-secret-2": 1}
        assert memories_gauge(by_project=False) == {"": 2}
    assert project_label("acme-secret-1", by_project=True) == "acme-secret-1"
    MEMORIES_WRITTEN.labels(project_label("acme-secret-2", by_project=False)).inc()
    assert 'memos_memories_written_total{project=""} 1.0' in generate_latest(REGISTRY).decode()


def test_docs_load_nothing_from_outside(tmp_path) -> None:
    from services.gateway.app import create_app

    with (
        embedded_runtime(tmp_path) as runtime,
        TestClient(create_app(runtime, run_relay=False)) as client,
    ):
        page = client.get("/docs")
        assert page.status_code == 200 and "SwaggerUIBundle" in page.text
        urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*["']([^"']+)["']""", page.text)
        assert len(urls) >= 4, urls  # script, style, icon, the API description
        assert not [u for u in urls if re.match(r"(https?:)?//", u)], urls
        assert not re.search(r"https?://", page.text)
        for url in urls:
            answer = client.get(url)
            assert answer.status_code == 200 and answer.content, url


def test_worker_metrics_listen_on_host_only() -> None:
    from shared.metrics import start_worker_metrics_server

    server = start_worker_metrics_server(0, "127.0.0.1")
    try:
        assert server.server_address[0] == "127.0.0.1"
        port = server.server_address[1]
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
    finally:
        server.shutdown()
        server.server_close()


def test_compose_needs_secrets_and_publishes_only_the_gateway() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    services = compose["services"]
    required = r"^\$\{%s:\?[^}]+\}$"
    for service in ("gateway", "retriever", "extractor", "migrate"):
        env = services[service]["environment"]
        assert re.match(required % "INTERNAL_TOKEN", env["INTERNAL_TOKEN"]), env
        assert re.match(required % "QDRANT_API_KEY", env["QDRANT_API_KEY"]), env
        assert env["HOST"] == "0.0.0.0"
    assert re.match(
        required % "QDRANT_API_KEY", services["qdrant"]["environment"]["QDRANT__SERVICE__API_KEY"]
    )
    assert "change-me" not in text and ":-change" not in text
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert published == {"gateway": ["8000:8000"]}
    local = yaml.safe_load((ROOT / "deploy" / "compose.local-ports.yml").read_text())
    for service in local["services"].values():
        assert all(port.startswith("127.0.0.1:") for port in service["ports"])
    example = (ROOT / ".env.example").read_text()
    assert "INTERNAL_TOKEN=\n" in example and "QDRANT_API_KEY=\n" in example
