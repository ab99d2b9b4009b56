"""`memos serve` (what `make run` starts) as a real process: restart persistence, the queue
being down, a retriever being down."""

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.process import MEMOS, post, run_service
from tests.stack import GUIDE_MESSAGES

CONVERSATION = {"user_id": "memos_user_123", "conversation_id": "memos_conversation_123"}


def wait_searchable(service, key: str, query: str, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = post(
            service, key, "/search/memory", {"user_id": CONVERSATION["user_id"], "query": query}
        ).json()
        if found["data"]["memory_detail_list"]:
            return found["data"]["memory_detail_list"]
        time.sleep(0.1)
    raise AssertionError(f"nothing searchable for {query!r}:\n{service.output()[-3000:]}")


def test_serve_prints_url_and_key_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with run_service("serve", data) as service:
        key = (data / "api-key").read_text().strip()
        assert key.startswith("mpg-")
        assert f"{service.api}" in service.output() and key in service.output()
        added = post(service, key, "/add/message", {**CONVERSATION, "messages": GUIDE_MESSAGES})
        assert added.json()["code"] == 0
        before = wait_searchable(service, key, "国庆去哪玩")
    with run_service("serve", data) as service:
        assert (data / "api-key").read_text().strip() == key  # the same key works again
        after = post(
            service,
            key,
            "/search/memory",
            {"user_id": CONVERSATION["user_id"], "query": "国庆去哪玩"},
        ).json()
        assert [m["id"] for m in after["data"]["memory_detail_list"]] == [m["id"] for m in before]
        messages = post(service, key, "/get/message", CONVERSATION).json()
        assert len(messages["data"]["message_detail_list"]) == 6
        again = post(service, key, "/add/message", {**CONVERSATION, "messages": GUIDE_MESSAGES})
        assert again.json()["data"]["task_id"] == added.json()["data"]["task_id"]
        assert (
            post(service, key, "/get/memory", {"user_id": CONVERSATION["user_id"]}).json()["data"][
                "total"
            ]
            == 1
        )  # the user's statement; the assistant's turns are its context


def test_queue_down_answers_50004_and_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    dead_broker = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    with run_service("serve", data, REDIS_URL=dead_broker) as service:
        key = (data / "api-key").read_text().strip()
        started = time.monotonic()
        answer = post(service, key, "/add/message", {**CONVERSATION, "messages": GUIDE_MESSAGES})
        assert time.monotonic() - started < 10, "the gateway hung on a dead broker"
        assert answer.status_code == 503 and answer.json()["code"] == 50004
        assert "retrying this request is safe" in answer.json()["message"]
        stored = post(service, key, "/get/message", CONVERSATION).json()
        assert len(stored["data"]["message_detail_list"]) == 6
    # Back with a working queue: the outbox sends the accepted job, once.
    with run_service("serve", data, OUTBOX_POLL_INTERVAL="0.2") as service:
        memories = wait_searchable(service, key, "国庆去哪玩")
        assert "全家" in memories[0]["memory_value"]
        total = post(service, key, "/get/memory", {"user_id": CONVERSATION["user_id"]}).json()
        assert total["data"]["total"] == 1  # extracted once: one memory, not two


def test_gateway_answers_50005_when_the_retriever_is_down(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with run_service(
        "gateway", data, RETRIEVER_URL="http://127.0.0.1:9", REDIS_URL="redis://127.0.0.1:9/0"
    ) as gateway:
        created = subprocess.run(
            [MEMOS, "keys", "create", "--project", "p"],
            check=True,
            capture_output=True,
            text=True,
            env={"DATA_DIR": str(data), "PATH": ""},
        ).stdout
        key = next(line.split()[-1] for line in created.splitlines() if line.startswith("api key"))
        answer = post(gateway, key, "/search/memory", {"user_id": "u", "query": "q"})
        assert answer.status_code == 503 and answer.json()["code"] == 50005


def test_gateway_forwards_search_to_a_retriever_process(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with run_service("serve", data) as service:
        key = (data / "api-key").read_text().strip()
        post(service, key, "/add/message", {**CONVERSATION, "messages": GUIDE_MESSAGES})
        direct = wait_searchable(service, key, "国庆去哪玩")
    # The store now belongs to the retriever process; the gateway only forwards.
    token = {"INTERNAL_TOKEN": "e2e-secret"}
    with (
        run_service("retriever", data, **token) as retriever,
        run_service(
            "gateway",
            data,
            RETRIEVER_URL=retriever.base,
            REDIS_URL="redis://127.0.0.1:9/0",
            **token,
        ) as gateway,
    ):
        forwarded = post(
            gateway,
            key,
            "/search/memory",
            {"user_id": CONVERSATION["user_id"], "query": "国庆去哪玩", "return_instruction": True},
        ).json()["data"]
        assert [m["id"] for m in forwarded["memory_detail_list"]] == [m["id"] for m in direct]
        assert forwarded["instruction"].startswith("任务：回答用户“国庆去哪玩”")
        bad_filter = post(
            gateway, key, "/search/memory", {"user_id": "u", "query": "q", "filter": {"and": []}}
        )
        assert bad_filter.status_code == 400 and bad_filter.json()["code"] == 40000
        stranger = httpx.post(
            retriever.base + "/internal/search",
            json={"project_id": "default", "request": {"user_id": "memos_user_123", "query": "q"}},
        )
        assert stranger.status_code == 401 and stranger.json()["code"] == 40132


def test_serve_keeps_its_data_dir_to_its_user(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # as an earlier version left it
    with run_service("serve", data) as service:
        key = (data / "api-key").read_text().strip()
        post(service, key, "/add/message", {**CONVERSATION, "messages": GUIDE_MESSAGES})
        wait_searchable(service, key, "国庆去哪玩")  # the queue and the index have written
        # os.walk, not rglob: the queue rewrites its files meanwhile, and a file gone between
        # listing and stat made rglob drop a whole folder now and then.
        paths = [data] + [
            Path(root) / name
            for root, folders, files in os.walk(data)
            for name in folders + files
            if Path(root) / name != service.log  # the test's log
        ]
        names = {p.name for p in paths}
        assert {"memos.db", "queue.aof", "api-key", "qdrant-edge"} <= names, names
        modes = {}
        for p in paths:
            try:
                modes[str(p.relative_to(tmp_path))] = p.stat().st_mode & 0o777
            except FileNotFoundError:  # a temporary file the queue has just replaced
                continue
        wider = {path: oct(mode) for path, mode in modes.items() if mode & 0o077}
        assert not wider, wider  # dirs 700, files 600


def redis_servers_in(*folders: Path) -> list[int]:
    """Pids of the redis-servers whose socket is in one of `folders` (their process title)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            title = (proc / "cmdline").read_text() if proc.name.isdigit() else ""
        except OSError:
            continue
        if "redis-server" in title and any(str(folder) in title for folder in folders):
            found.append(int(proc.name))
    return found


def kill_serve(service, *folders: Path) -> list[int]:
    """kill -9 of `memos serve` alone, as an OOM killer or a crash would; the redis-servers
    still running 10 s later (killed too, once counted)."""
    os.kill(service.process.pid, signal.SIGKILL)
    service.process.wait()
    deadline = time.monotonic() + 10
    while redis_servers_in(*folders) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = redis_servers_in(*folders)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


@pytest.mark.parametrize("depth", ["short", "too-long-for-a-socket"])
def test_serve_killed_leaves_no_socket_dir_and_no_queue(tmp_path: Path, depth: str) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    data = tmp_path / "data"
    if depth != "short":  # the socket then goes to the temp folder
        data = tmp_path / ("d" * 60) / ("a" * 60) / "data"
    for _ in range(2):
        with run_service("serve", data, TMPDIR=str(temp)) as service:
            key = (data / "api-key").read_text().strip()
            assert post(service, key, "/get/memory", {"user_id": "u"}).json()["code"] == 0
            in_temp = list(temp.glob("memos-redis-*"))
            assert len(in_temp) == (0 if depth == "short" else 1), in_temp
            assert not kill_serve(service, data, temp), "the queue outlived the service"
    with run_service("serve", data, TMPDIR=str(temp)):  # the killed ones' dirs are removed
        assert len(list(temp.glob("memos-redis-*"))) == (0 if depth == "short" else 1)
