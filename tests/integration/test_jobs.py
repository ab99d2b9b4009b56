"""Jobs that fail: status `failed`, kept as a dead letter, listed and replayed by `memos jobs`."""

import time
import uuid

from services.cli import main
from tests.stack import Stack


def test_failed_job_is_dead_lettered_and_replayed(stack: Stack, monkeypatch, capsys) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"

    def unreachable(texts: list[str]) -> None:
        raise ConnectionError("the embedding endpoint does not answer")

    with monkeypatch.context() as broken:
        # An embeddings endpoint that is down makes every attempt fail.
        broken.setattr(stack.runtime.embedder, "embed_passages", unreachable)
        broken.setattr(stack.settings, "job_max_attempts", 1)
        task = stack.add(user, "c", [{"role": "user", "content": "我的生日是三月五日。"}])
        assert stack.wait(task["task_id"]) == "failed"
    assert stack.ok("/get/status", {"task_id": task["task_id"]})["status"] == "failed"
    assert (
        stack.ok("/get/message", {"user_id": user, "conversation_id": "c"})["message_detail_list"][
            0
        ]["content"]
        == "我的生日是三月五日。"
    )

    stack.export_env(monkeypatch)  # the CLI reads the stack's settings
    assert main(["jobs", "failed"]) == 0
    listed = capsys.readouterr().out
    assert task["task_id"] in listed and "Connection" in listed

    assert main(["jobs", "replay", task["task_id"]]) == 0
    assert "replayed 1 job" in capsys.readouterr().out
    assert stack.wait(task["task_id"]) == "completed"
    assert "生日" in stack.search(user, "我什么时候过生日")["memory_detail_list"][0]["memory_value"]


def test_job_run_twice_writes_nothing_twice(stack: Stack) -> None:
    from services.extractor.service import Extractor
    from shared.db.models import Job

    user = f"u-{uuid.uuid4().hex[:8]}"
    task = stack.add(user, "c", [{"role": "user", "content": "我在学日语，准备明年去东京。"}])
    stack.wait(task["task_id"])
    before = stack.ok("/get/memory", {"user_id": user})["memory_detail_list"]
    with stack.runtime.db.transaction() as session:  # as if the broker redelivered it
        session.get(Job, task["task_id"]).status = "running"
    Extractor(stack.runtime).run(task["task_id"])
    after = stack.ok("/get/memory", {"user_id": user})["memory_detail_list"]
    assert [m["id"] for m in after] == [m["id"] for m in before]
    hits = stack.search(user, "学日语", memory_limit_number=25)["memory_detail_list"]
    assert len(hits) == len(before)


def test_a_message_the_extractor_cannot_handle_does_not_fail_its_job(stack: Stack) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    when = "2025-06-11 10:00:00"
    task = stack.add(
        user,
        "c",
        [
            {"role": "user", "content": "I adopted my cat 99999999 days ago.", "chat_time": when},
            {"role": "assistant", "content": "That is a long time!", "chat_time": when},
            {
                "role": "user",
                "content": "I work as a nurse at the city hospital.",
                "chat_time": when,
            },
        ],
    )
    assert stack.wait(task["task_id"]) == "completed"
    values = sorted(
        m["memory_value"] for m in stack.ok("/get/memory", {"user_id": user})["memory_detail_list"]
    )
    assert values == [
        "The user adopted the user's cat 99999999 days ago.",
        "The user works as a nurse at the city hospital.",
    ]


def job_outcomes() -> dict[str, float]:
    from prometheus_client import REGISTRY

    return {
        outcome: REGISTRY.get_sample_value("memos_jobs_total", {"outcome": outcome}) or 0
        for outcome in ("completed", "duplicate")
    }


def test_jobs_running_or_waiting_their_turn_are_not_sent_again(
    stack: Stack, llm, monkeypatch
) -> None:
    """Slow LLM jobs, a backlog in the queue, and a relay that re-sends what it has not heard
    of for a second: the two running jobs hold leases, the two waiting are behind the head
    of the queue, so none is sent again, started twice or counted twice."""
    from sqlalchemy import func, select

    from shared.db.models import Job

    for _ in range(1200):  # jobs earlier tests left behind finish first
        with stack.runtime.db.session() as session:  # a fresh read each time, not one snapshot
            if not session.scalar(select(func.count()).where(Job.status == "running")):
                break
        time.sleep(0.05)
    monkeypatch.setattr(stack.settings, "outbox_redrive_after", 1.0)
    llm.delay = 2.0
    before = job_outcomes()
    tasks = [
        stack.add(
            f"u-{uuid.uuid4().hex[:8]}",
            "c",
            [{"role": "user", "content": f"I keep {n} bonsai trees on my balcony."}],
        )["task_id"]
        for n in range(4)
    ]  # two worker threads: two run, two wait
    assert [stack.wait(task, timeout=60) for task in tasks] == ["completed"] * 4
    time.sleep(1.5)  # copies sent again, if any, have arrived
    with stack.runtime.db.session() as session:
        assert [session.get(Job, task).attempts for task in tasks] == [1] * 4
    # Only these jobs' calls: a job an earlier test left behind may reach this LLM too.
    assert (
        sum("bonsai trees" in str(request["messages"]) for request in llm.extraction_requests) == 4
    )
    after = job_outcomes()
    assert {k: after[k] - before[k] for k in after} == {"completed": 4, "duplicate": 0}


def test_a_job_whose_lease_ran_out_is_sent_again(stack: Stack, monkeypatch) -> None:
    """Its worker died: no heartbeat, the lease runs out, the relay sends it again."""
    from shared.clock import now_ms
    from shared.db.models import Job

    monkeypatch.setattr(stack.settings, "outbox_redrive_after", 1.0)
    user = f"u-{uuid.uuid4().hex[:8]}"
    task = stack.add(user, "c", [{"role": "user", "content": "我在学日语，准备明年去东京。"}])
    assert stack.wait(task["task_id"]) == "completed"
    with stack.runtime.db.transaction() as session:  # as if a worker had taken it and died
        row = session.get(Job, task["task_id"])
        row.status, row.attempts, row.dispatch_time = "running", 1, now_ms() + 300
    assert stack.wait(task["task_id"]) == "completed"
    with stack.runtime.db.transaction() as session:
        assert session.get(Job, task["task_id"]).attempts == 2
