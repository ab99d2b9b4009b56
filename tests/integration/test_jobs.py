"""Jobs that fail: status `failed`, kept as a dead letter, listed and replayed by `memos jobs`."""

import uuid

from services.cli import main
from shared.config import get_settings
from tests.stack import Stack


def test_failed_job_is_dead_lettered_and_replayed(stack: Stack, monkeypatch, capsys) -> None:
    settings = get_settings()
    user = f"u-{uuid.uuid4().hex[:8]}"
    with monkeypatch.context() as broken:
        # An embeddings endpoint that is down makes every attempt fail.
        broken.setattr(settings, "embedder", "openai")
        broken.setattr(settings, "embedding_base_url", "http://127.0.0.1:9/v1")
        broken.setattr(settings, "job_max_attempts", 1)
        task = stack.add(user, "c", [{"role": "user", "content": "我的生日是三月五日。"}])
        assert stack.wait(task["task_id"]) == "failed"
    assert stack.ok("/get/status", {"task_id": task["task_id"]})["status"] == "failed"
    assert stack.ok("/get/message", {"user_id": user, "conversation_id": "c"})[
        "message_detail_list"][0]["content"] == "我的生日是三月五日。"

    assert main(["jobs", "failed"]) == 0
    listed = capsys.readouterr().out
    assert task["task_id"] in listed and "Connection" in listed

    assert main(["jobs", "replay", task["task_id"]]) == 0
    assert "replayed 1 job" in capsys.readouterr().out
    assert stack.wait(task["task_id"]) == "completed"
    assert "生日" in stack.search(user, "我什么时候过生日")["memory_detail_list"][0][
        "memory_value"]


def test_job_run_twice_writes_nothing_twice(stack: Stack) -> None:
    from services.extractor.service import run_extraction
    from shared.db.models import Task
    from shared.db.session import transaction

    user = f"u-{uuid.uuid4().hex[:8]}"
    task = stack.add(user, "c", [{"role": "user", "content": "我在学日语，准备明年去东京。"}])
    stack.wait(task["task_id"])
    before = stack.ok("/get/memory", {"user_id": user})["memory_detail_list"]
    with transaction() as session:  # as if the broker redelivered a finished job
        session.get(Task, task["task_id"]).status = "running"
    run_extraction(task["task_id"])
    after = stack.ok("/get/memory", {"user_id": user})["memory_detail_list"]
    assert [m["id"] for m in after] == [m["id"] for m in before]
    hits = stack.search(user, "学日语", memory_limit_number=25)["memory_detail_list"]
    assert len(hits) == len(before)
