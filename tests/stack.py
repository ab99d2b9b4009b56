"""The whole service in the test process: gateway app (TestClient), a real Celery worker
thread on a real Redis, real SQL and Qdrant local mode."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from services.gateway.deps import Gateway
    from shared.config import Settings
    from shared.runtime import Runtime

API = "/api/openmem/v1"

GUIDE_MESSAGES = [
    {"role": "user", "content": "我想暑假出去玩，你能帮我推荐下吗？"},
    {"role": "assistant", "content": "好的！是自己出行还是和家人朋友一起呢？"},
    {"role": "user", "content": "肯定要带孩子啊，我们家出门都是全家一起。"},
    {"role": "assistant", "content": "明白了，所以你们是父母带孩子一块儿旅行，对吗？"},
    {"role": "user", "content": "对，带上孩子和老人，一般都是全家行动。"},
    {"role": "assistant", "content": "收到，那我会帮你推荐适合家庭出游的目的地。"},
]


def settings_for(**env: str) -> "Settings":
    """Settings as the process would read them with these environment variables set."""
    from shared.config import Settings

    return Settings(**{name.lower(): value for name, value in env.items()})  # type: ignore[arg-type]


@dataclass
class Stack:
    client: TestClient
    key: str
    runtime: "Runtime"
    env: dict[str, str]  # the environment a process would need for the same settings

    @property
    def settings(self) -> "Settings":
        return self.runtime.settings

    def export_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Sets this stack's settings in the environment, for a `memos` command run here."""
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)

    @property
    def gateway(self) -> "Gateway":
        return self.client.app.state.gateway  # type: ignore[attr-defined]

    def post(self, path: str, body: object, key: str | None = None, **headers: str):
        auth = {"Authorization": f"Token {key or self.key}"} if key != "" else {}
        return self.client.post(API + path, json=body, headers={**auth, **headers})

    def ok(self, path: str, body: object, key: str | None = None) -> dict:
        response = self.post(path, body, key)
        assert response.status_code == 200, response.text
        payload = response.json()
        assert payload["code"] == 0 and payload["message"] == "ok", payload
        return payload["data"]

    def new_key(self, project: str) -> str:
        from services.gateway.keys.service import create_key

        with self.runtime.db.transaction() as session:
            return create_key(session, project)[1]

    def add(
        self,
        user_id: str,
        conversation_id: str,
        messages: list[dict],
        key: str | None = None,
        **extra,
    ) -> dict:
        body = {
            "user_id": user_id,
            "conversation_id": conversation_id,
            "messages": messages,
            **extra,
        }
        return self.ok("/add/message", body, key)

    def wait(self, task_id: str, key: str | None = None, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.ok("/get/status", {"task_id": task_id}, key)["status"]
            if status != "running":
                return status
            time.sleep(0.02)
        raise AssertionError(f"task {task_id} still running after {timeout}s")

    def search(self, user_id: str, query: str, key: str | None = None, **extra) -> dict:
        return self.ok("/search/memory", {"user_id": user_id, "query": query, **extra}, key)


@contextmanager
def running_stack(data_dir: Path, database_url: str, redis_url: str, **env: str) -> Iterator[Stack]:
    from services.embedded import InProcessWorker
    from services.gateway.app import create_app
    from shared.db.migrate import upgrade_database
    from shared.runtime import Runtime

    env = {
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LOG_JSON": "false",
        "LOG_LEVEL": "WARNING",
        "RETRIEVER_URL": "",
        "LLM_BASE_URL": "",
        "LLM_MODEL": "",
        "OUTBOX_POLL_INTERVAL": "0.5",
        "RATE_LIMIT_PER_SECOND": "0",
        **env,
    }
    runtime = Runtime(settings_for(**env))
    upgrade_database(runtime.db)
    worker = InProcessWorker(runtime, concurrency=2)
    worker.start()
    try:
        with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
            stack = Stack(client, key="", runtime=runtime, env=env)
            stack.key = stack.new_key("test-project")
            yield stack
    finally:
        worker.stop()
        runtime.close()
