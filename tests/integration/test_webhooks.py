"""Webhooks: a receiver the test starts hears of every event of a scripted session once per
event id, signed, in order per memory; one that is down for a while gets everything after it
comes back; failed deliveries are replayed; private targets and redirects are refused."""

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.cli import main
from shared.webhooks import EVENTS, verify
from tests.e2e.process import free_port
from tests.stack import Stack


class Receiver:
    """An endpoint recording what it is sent (headers and body), in order; stopped, it
    refuses connections, as a receiver that is down does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/moved":
                    self.send_response(302)
                    self.send_header("Location", receiver.url)
                    self.end_headers()
                    return
                with receiver.lock:
                    receiver.received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self) -> list[dict]:
        with self.lock:
            return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """A receiver on this machine (the test allows private targets) and quick retries."""
    monkeypatch.setattr(stack.runtime.settings, "allow_private_urls", True)
    monkeypatch.setattr(stack.runtime.settings, "webhook_retry_seconds", 0.2)
    found = Receiver()
    found.start()
    yield found
    found.stop()


def hook(stack: Stack, url: str, **extra: object) -> dict:
    return stack.ok("/create/webhook", {"url": url, **extra})


def settled(stack: Stack, timeout: float = 30) -> dict:
    """Once no delivery of the project is pending: the deliveries."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.ok("/get/webhook-deliveries", {"status": "pending"})["total"] == 0:
            return stack.ok("/get/webhook-deliveries", {"size": 100})
        time.sleep(0.1)
    raise AssertionError("deliveries still pending")


def test_a_scripted_session_is_heard_once_per_event_in_order(
    stack: Stack, receiver: Receiver
) -> None:
    from shared.db.models import Job
    from shared.dead_letters import record_failure

    made = hook(stack, receiver.url)
    assert made["secret"].startswith("whsec_") and len(made["events"]) == 7
    user = f"w-{uuid.uuid4().hex[:6]}"
    try:
        task = stack.add(user, "c", [{"role": "user", "content": "我住在杭州。"}])["task_id"]
        assert stack.wait(task) == "completed"
        memory = stack.ok("/get/memory", {"user_id": user})["memory_detail_list"][0]["id"]
        stack.ok("/update/memory", {"memory_id": memory, "content": "用户住在上海。"})
        stack.ok("/update/memory", {"memory_id": memory, "status": "archived"})
        stack.ok("/delete/memory", {"memory_ids": [memory]})
        failing = stack.add(user, "c", [{"role": "user", "content": "我养了一只猫。"}])
        assert stack.wait(failing["task_id"]) == "completed"
        with stack.runtime.db.transaction() as session:  # as a worker records its last failure
            job = session.get(Job, failing["task_id"])
            assert job is not None
            record_failure(session, job, "the model timed out")
        settled(stack)  # an erasure deletes what was still to be told of the user
        stack.ok("/delete/user", {"user_id": user})
        settled(stack)
    finally:
        stack.ok("/delete/webhook", {"webhook_id": made["id"]})

    heard = [(headers, body) for headers, body in receiver.received]
    events = [json.loads(body) for _, body in heard]
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids))  # each event once
    kinds = [e["type"] for e in events]
    for expected in EVENTS:
        assert expected in kinds, kinds
    # In order per memory.
    about = [e["type"] for e in events if e["data"].get("memory", {}).get("id") == memory]
    assert about[:4] == ["memory.created", "memory.updated", "memory.archived", "memory.deleted"]
    first = next(e for e in events if e["type"] == "memory.created")
    assert first["project_id"] == "test-project" and first["data"]["memory"]["user_id"] == user
    erased = next(e for e in events if e["type"] == "user.erased")
    assert erased["data"]["user"]["user_id"] == user
    # Signed: the secret verifies each body; another body or secret does not.
    for headers, body in heard:
        assert headers["X-Memos-Event-Id"] == json.loads(body)["id"]
        assert verify(made["secret"], body, headers["X-Memos-Signature"])
    headers, body = heard[0]
    assert not verify(made["secret"], body + b" ", headers["X-Memos-Signature"])
    assert not verify("whsec_other", body, headers["X-Memos-Signature"])
    assert not verify(made["secret"], body, re.sub(r"v1=\w", "v1=0", headers["X-Memos-Signature"]))


def test_a_receiver_down_for_a_while_gets_everything_after(
    stack: Stack, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = hook(stack, receiver.url, events=["memory.created", "task.completed"])
    user = f"d-{uuid.uuid4().hex[:6]}"
    try:
        receiver.stop()
        task = stack.add(user, "c", [{"role": "user", "content": "我在学钢琴。我每周游泳两次。"}])
        assert stack.wait(task["task_id"]) == "completed"
        time.sleep(1.5)  # attempts fail meanwhile
        waiting = stack.ok("/get/webhook-deliveries", {"webhook_id": made["id"]})
        assert waiting["total"] >= 2
        assert all(d["status"] == "pending" for d in waiting["delivery_list"])
        assert any(d["attempts"] >= 2 and d["last_error"] for d in waiting["delivery_list"])
        receiver.start()
        done = settled(stack)
        mine = [d for d in done["delivery_list"] if d["webhook_id"] == made["id"]]
        assert {d["status"] for d in mine} == {"delivered"}
        assert sorted(e["type"] for e in receiver.events()) == sorted(d["event_type"] for d in mine)

        # The last attempt failed: failed for good, then replayed.
        monkeypatch.setattr(stack.runtime.settings, "webhook_max_attempts", 2)
        receiver.stop()
        task = stack.add(user, "c", [{"role": "user", "content": "我周末去爬山。"}])
        assert stack.wait(task["task_id"]) == "completed"
        failed = settled(stack)
        dead = [d for d in failed["delivery_list"] if d["status"] == "failed"]
        assert dead and all(d["attempts"] == 2 for d in dead)
        receiver.start()
        assert stack.ok("/replay/webhook-deliveries", {"webhook_id": made["id"]})[
            "replayed"
        ] == len(dead)
        settled(stack)
        assert {d["event_id"] for d in dead} <= {e["id"] for e in receiver.events()}
        again = stack.ok("/get/webhook-deliveries", {"webhook_id": made["id"], "status": "failed"})
        assert again["total"] == 0
    finally:
        stack.ok("/delete/webhook", {"webhook_id": made["id"]})
        stack.ok("/delete/user", {"user_id": user})


def test_private_targets_and_redirects_are_refused(
    stack: Stack, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack.runtime.settings, "allow_private_urls", False)
    refused = stack.post("/create/webhook", {"url": receiver.url}).json()
    assert refused["code"] == 40000 and "not a public address" in refused["message"]
    assert stack.post("/create/webhook", {"url": "ftp://example.com/x"}).json()["code"] == 40000
    bad_event = stack.post("/create/webhook", {"url": receiver.url, "events": ["memory.eaten"]})
    assert bad_event.json()["code"] == 40000

    monkeypatch.setattr(stack.runtime.settings, "allow_private_urls", True)
    monkeypatch.setattr(stack.runtime.settings, "webhook_max_attempts", 1)
    moved = hook(stack, f"http://127.0.0.1:{receiver.port}/moved", events=["task.completed"])
    user = f"r-{uuid.uuid4().hex[:6]}"
    try:
        task = stack.add(user, "c", [{"role": "user", "content": "我喜欢喝茶。"}])
        assert stack.wait(task["task_id"]) == "completed"
        (delivery,) = [d for d in settled(stack)["delivery_list"] if d["webhook_id"] == moved["id"]]
        assert delivery["status"] == "failed"
        assert "redirects are not followed" in delivery["last_error"]
        assert receiver.received == []  # the redirect's target never heard of it
    finally:
        stack.ok("/delete/webhook", {"webhook_id": moved["id"]})
        stack.ok("/delete/user", {"user_id": user})


def test_the_cli_adds_lists_and_removes_webhooks(
    stack: Stack, receiver: Receiver, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    stack.export_env(monkeypatch)
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "true")
    assert (
        main(
            [
                "webhooks",
                "add",
                "--project",
                "test-project",
                "--url",
                receiver.url,
                "--event",
                "user.erased",
            ]
        )
        == 0
    )
    added = capsys.readouterr().out
    webhook_id = re.search(r"webhook id : (\S+)", added)
    assert webhook_id and "whsec_" in added
    assert main(["webhooks", "list", "--project", "test-project"]) == 0
    listed = capsys.readouterr().out
    assert webhook_id[1] in listed and "user.erased" in listed and "whsec_" not in listed
    assert main(["webhooks", "remove", "--project", "test-project", webhook_id[1]]) == 0
    assert f"removed {webhook_id[1]}" in capsys.readouterr().out
    assert main(["webhooks", "list", "--project", "test-project"]) == 0
    assert webhook_id[1] not in capsys.readouterr().out
