"""The whole service in the test process: gateway app (TestClient), a real Celery worker
thread on a real Redis, real SQL and Qdrant local mode."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

API = "/api/openmem/v1"

GUIDE_MESSAGES = [
    {"role": "user", "content": "我想暑假出去玩，你能帮我推荐下吗？"},
    {"role": "assistant", "content": "好的！是自己出行还是和家人朋友一起呢？"},
    {"role": "user", "content": "肯定要带孩子啊，我们家出门都是全家一起。"},
    {"role": "assistant", "content": "明白了，所以你们是父母带孩子一块儿旅行，对吗？"},
    {"role": "user", "content": "对，带上孩子和老人，一般都是全家行动。"},
    {"role": "assistant", "content": "收到，那我会帮你推荐适合家庭出游的目的地。"},
]


def reset_runtime() -> None:
    """Forget every per-process singleton so the next use reads the current environment."""
    from services.gateway.keys.service import key_cache
    from services.gateway.memories import service as memories_service
    from services.gateway.messages.ingest import stop_ingest
    from shared import vector_store
    from shared.config import get_settings
    from shared.db import session
    from shared.llm import get_llm

    stop_ingest()
    get_settings.cache_clear()
    if session.get_engine.cache_info().currsize:
        session.get_engine().dispose()
    session.get_engine.cache_clear()
    session._session_factory.cache_clear()
    vector_store.close_memory_index()
    memories_service._searcher.cache_clear()
    get_llm.cache_clear()
    key_cache._entries.clear()


@dataclass
class Stack:
    client: TestClient
    key: str

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
        from shared.db.session import transaction

        with transaction() as session:
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

    patch = pytest.MonkeyPatch()
    settings = {
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
    for name, value in settings.items():
        patch.setenv(name, value)
    reset_runtime()
    upgrade_database()
    worker = InProcessWorker(concurrency=2)
    worker.start()
    try:
        with TestClient(create_app(), raise_server_exceptions=False) as client:
            stack = Stack(client, key="")
            stack.key = stack.new_key("test-project")
            yield stack
    finally:
        worker.stop()
        reset_runtime()
        patch.undo()
