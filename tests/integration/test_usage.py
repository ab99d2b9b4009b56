"""Per-project usage: the requests of a project's keys counted as requests, adds, searches and
errors in memos_project_requests_total and, flushed by the gateway, in the `usage` table;
each key's last use; the last day read back; a flush the database refuses kept for the next."""

import logging
import re
import uuid

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from services.cli import main
from services.gateway import usage
from services.gateway.keys.service import hash_key
from services.gateway.usage import flush, last_day
from shared.clock import now_ms
from shared.db.models import ApiKey, Usage
from shared.usage import HOUR_MS, UsageCounts, hour_of
from tests.integration.test_security import embedded_runtime
from tests.stack import API, Stack

COLUMNS = ("requests", "adds", "searches", "errors")


def counted(stack: Stack) -> UsageCounts:
    """What the stack's gateway counted and has not flushed yet."""
    counts: UsageCounts = stack.client.app.state.usage  # type: ignore[attr-defined]
    return counts


NOTHING = dict.fromkeys(COLUMNS, 0)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def stored(stack: Stack, project: str) -> dict[str, int]:
    """The project's `usage` rows, summed over its hours."""
    with stack.runtime.db.session() as session:
        row = session.execute(
            select(*(func.coalesce(func.sum(getattr(Usage, c)), 0) for c in COLUMNS)).where(
                Usage.project_id == project
            )
        ).one()
    return dict(zip(COLUMNS, (int(v) for v in row), strict=True))


def key_row(stack: Stack, key: str) -> ApiKey:
    with stack.runtime.db.session() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    assert row is not None
    return row


def counters(stack: Stack, project: str) -> dict[str, float]:
    """memos_project_requests_total of the project, by kind, from the gateway's /metrics."""
    text = stack.client.get("/metrics").text
    assert "# TYPE memos_project_requests_total counter" in text
    return {
        sample.labels["kind"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "memos_project_requests_total" and sample.labels["project"] == project
    }


def test_requests_adds_searches_and_errors_per_project(
    stack: Stack, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = stack.runtime.db
    first, second = unique("usage-a"), unique("usage-b")
    key_a, key_b, unused = stack.new_key(first), stack.new_key(second), stack.new_key(first)
    before = now_ms()
    stack.add("u", "c", [{"role": "user", "content": "I like green tea."}], key=key_a)
    stack.ok(
        "/add/feedback",
        {"user_id": "u", "conversation_id": "c", "feedback_content": "Yes, green tea."},
        key=key_a,
    )
    stack.search("u", "tea", key=key_a)
    stack.search("u", "coffee", key=key_a)
    failed = stack.post("/search/memory", {"user_id": "u"}, key=key_a)  # no query
    assert failed.status_code == 400 and failed.json()["code"] == 40002
    stack.ok("/get/message", {"user_id": "u", "conversation_id": "c"}, key=key_b)
    # Refused before any project is known: nobody's.
    refused = stack.post("/search/memory", {"user_id": "u", "query": "q"}, key="mpg-nobody")
    assert refused.status_code in (401, 429)
    after = now_ms()
    expected_a = {"requests": 5, "adds": 2, "searches": 3, "errors": 1}
    expected_b = {"requests": 1, "adds": 0, "searches": 0, "errors": 0}

    # This process's counts, flushed or not yet.
    assert last_day(db, counted(stack), first, now_ms())["totals"] == expected_a
    assert flush(db, counted(stack))
    assert stored(stack, first) == expected_a
    assert stored(stack, second) == expected_b
    day = last_day(db, counted(stack), first, now_ms())
    assert day["totals"] == expected_a  # once, though now in SQL
    assert len(day["hours"]) == 24 and day["hours"][-1]["hour"] == hour_of(now_ms())
    assert {k: sum(h[k] for h in day["hours"]) for k in COLUMNS} == expected_a
    assert last_day(db, counted(stack), second, now_ms())["totals"] == expected_b

    assert counters(stack, first) == {"request": 5, "add": 2, "search": 3, "error": 1}
    assert counters(stack, second) == {"request": 1}

    used_a, used_b = key_row(stack, key_a).last_use_time, key_row(stack, key_b).last_use_time
    assert used_a is not None and before <= used_a <= after
    assert used_b is not None and before <= used_b <= after
    assert key_row(stack, unused).last_use_time is None

    # Another gateway process flushing into the same rows adds to them, and an older use of
    # the key it saw does not move its last use back.
    other = UsageCounts()
    other.record(first, key_row(stack, key_a).id, ("request", "search"), before - 60_000)
    other.record(first, None, ("request",), before)
    assert flush(db, other)
    assert stored(stack, first) == {"requests": 7, "adds": 2, "searches": 4, "errors": 1}
    assert key_row(stack, key_a).last_use_time == used_a

    # `memos keys list` shows it.
    stack.export_env(monkeypatch)
    assert main(["keys", "list", "--project", first]) == 0
    listed = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert re.search(r"last used=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", listed[key_row(stack, key_a).id])
    assert "last used=-" in listed[key_row(stack, unused).id]


def test_a_refused_flush_keeps_its_counts_for_the_next(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    db = stack.runtime.db
    project = unique("usage-c")
    key = stack.new_key(project)
    written = usage.write

    def write_then_lose_the_connection(connection, counts) -> None:
        written(connection, counts)  # rolled back: the connection is gone before the commit
        raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection"))

    with monkeypatch.context() as patched:
        # Before the requests: the gateway's own flusher fails too meanwhile, and keeps them.
        patched.setattr(usage, "write", write_then_lose_the_connection)
        stack.search("u", "tea", key=key)
        assert stack.post("/get/status", {"task_id": "no-such-task"}, key=key).status_code >= 400
        with caplog.at_level(logging.WARNING, logger="services.gateway.usage"):
            assert not flush(db, counted(stack))
        assert "usage not written, kept for the next flush" in caplog.text
        assert stored(stack, project) == NOTHING
        assert key_row(stack, key).last_use_time is None
        expected = {"requests": 2, "adds": 0, "searches": 1, "errors": 1}
        assert (
            last_day(db, counted(stack), project, now_ms())["totals"] == expected
        )  # still counted

    assert flush(db, counted(stack))
    assert stored(stack, project) == expected  # once
    assert key_row(stack, key).last_use_time is not None
    assert last_day(db, counted(stack), project, now_ms())["totals"] == expected


def test_the_gateway_flushes_at_shutdown(tmp_path) -> None:
    from services.gateway.app import create_app
    from services.gateway.keys.service import create_key

    with embedded_runtime(tmp_path, USAGE_FLUSH_SECONDS="3600") as runtime:
        with runtime.db.transaction() as session:
            key = create_key(session, "at-shutdown")[1]
        with TestClient(create_app(runtime, run_relay=False)) as client:
            answer = client.post(
                f"{API}/get/message",
                json={"user_id": "u", "conversation_id": "c"},
                headers={"Authorization": f"Token {key}"},
            )
            assert answer.status_code == 200
            with runtime.db.session() as session:
                assert session.scalar(select(func.count()).select_from(Usage)) == 0
        with runtime.db.session() as session:
            rows = session.scalars(select(Usage)).all()
            assert [(r.project_id, r.requests, r.errors) for r in rows] == [("at-shutdown", 1, 0)]
            assert rows[0].hour % HOUR_MS == 0
            last_use = session.scalar(select(ApiKey.last_use_time))
            assert last_use is not None and last_use >= rows[0].hour
