"""Group commit: adds written together in one transaction keep every promise a lone add makes
(one job per distinct add, each message once, in order), on SQLite and on PostgreSQL."""

import uuid
from concurrent.futures import ThreadPoolExecutor

from services.gateway.messages.ingest import Accepted, Ingest, prepare, write
from services.gateway.messages.schemas import AddMessageRequest
from tests.stack import Stack

WINDOW_MS = 60_000


def _write(stack: Stack, *bodies: dict) -> list[Accepted]:
    adds = [prepare("test-project", AddMessageRequest(**body), "add", WINDOW_MS) for body in bodies]
    with stack.runtime.db.core_transaction() as connection:
        return write(connection, adds)


def test_one_batch_stores_each_job_and_message_once(stack: Stack) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    first = {
        "user_id": user,
        "conversation_id": "c",
        "messages": [
            {"role": "user", "content": "我下周去成都出差。", "chat_time": "2025-03-01 10:00"},
            {"role": "assistant", "content": "好的，祝顺利。", "chat_time": "2025-03-01 10:01"},
        ],
    }
    window = {
        **first,
        "messages": first["messages"][1:]
        + [{"role": "user", "content": "顺便想吃火锅。", "chat_time": "2025-03-01 10:02"}],
    }
    nothing_new = {**first, "messages": first["messages"][:1]}

    results = _write(stack, first, first, window, nothing_new)
    assert results[0].fresh and results[0].status == "running"
    assert results[1] == Accepted(results[0].task_id, "running", False)  # the retry inside
    assert results[2].fresh and results[2].task_id != results[0].task_id
    assert results[3] == Accepted(results[3].task_id, "completed", False)

    again = _write(stack, window, first)  # both retried after their commit
    assert again == [
        Accepted(results[2].task_id, "running", False),
        Accepted(results[0].task_id, "running", False),
    ]
    stored = stack.ok("/get/message", {"user_id": user, "conversation_id": "c"})
    assert [m["content"] for m in stored["message_detail_list"]] == [
        "我下周去成都出差。",
        "好的，祝顺利。",
        "顺便想吃火锅。",
    ]


def test_concurrent_identical_adds_share_one_job(stack: Stack) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    messages = [{"role": "user", "content": "我养了一只叫年糕的柯基。"}]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: stack.add(user, "c", messages), range(16)))
    assert len({answer["task_id"] for answer in answers}) == 1
    assert stack.wait(answers[0]["task_id"]) == "completed"
    stored = stack.ok("/get/message", {"user_id": user, "conversation_id": "c"})
    assert len(stored["message_detail_list"]) == 1
    assert stack.ok("/get/memory", {"user_id": user})["total"] == 1


def test_many_adds_at_once_are_all_answered_and_extracted(stack: Stack) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda i: stack.add(
                    user, f"c{i}", [{"role": "user", "content": f"我第{i}次去杭州是为了看西湖。"}]
                ),
                range(40),
            )
        )
    assert len({answer["task_id"] for answer in answers}) == 40
    assert all(stack.wait(answer["task_id"]) == "completed" for answer in answers)
    assert stack.ok("/get/memory", {"user_id": user, "size": 50})["total"] == 40


def test_an_add_whose_client_left_is_stored_and_extracted(stack: Stack) -> None:
    """A cancelled answer (the client hung up) neither stops the batch nor the threads."""
    user = f"u-{uuid.uuid4().hex[:8]}"
    gone, staying = (
        prepare(
            "test-project",
            AddMessageRequest(
                user_id=user,
                conversation_id=conversation,
                messages=[{"role": "user", "content": f"我在{city}工作。"}],
            ),
            "add",
            WINDOW_MS,
        )
        for conversation, city in (("gone", "深圳"), ("staying", "广州"))
    )
    gone.future.cancel()
    committed = stack.gateway.ingest.commit([gone, staying])
    assert committed is not None
    stack.gateway.ingest.publish_and_answer([committed])
    assert gone.future.cancelled() and staying.future.result(timeout=5).fresh
    for add in (gone, staying):
        assert stack.wait(add.task_id) == "completed"
    assert stack.ok("/get/memory", {"user_id": user})["total"] == 2
    assert (
        stack.add(user, "after", [{"role": "user", "content": "我喜欢喝乌龙茶。"}])["status"]
        == "running"
    )  # the threads still answer


def test_an_unexpected_failure_answers_50000_and_the_next_add_works(
    stack: Stack, monkeypatch
) -> None:
    def broken(_: Ingest, batches: list) -> None:
        raise RuntimeError("a bug")

    user = f"u-{uuid.uuid4().hex[:8]}"
    with monkeypatch.context() as patch:
        patch.setattr(Ingest, "publish_and_answer", broken)
        answer = stack.post(
            "/add/message",
            {
                "user_id": user,
                "conversation_id": "c",
                "messages": [{"role": "user", "content": "一"}],
            },
        )
    assert answer.status_code == 500 and answer.json()["code"] == 50000
    assert (
        stack.add(user, "c", [{"role": "user", "content": "我周五晚上打羽毛球。"}])["status"]
        == "running"
    )
