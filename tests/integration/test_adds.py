"""Adds under real conditions: a value the database would refuse is refused at the edge and
never fails the adds committed beside it; retries are recognised (Idempotency-Key, the retry
window, chat_time) while a user who says the same thing twice is heard twice; sync adds wait
without holding the threads other requests need."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from services.extractor import service as extractor
from services.gateway.messages import ingest
from services.gateway.messages.ingest import prepare, retry_window_ms, write
from services.gateway.messages.schemas import AddMessageRequest, ChatMessage
from shared.config import Settings
from shared.db.models import Message
from shared.errors import InvalidParameter
from tests.stack import Stack

WINDOW_MS = retry_window_ms(Settings().add_retry_window)  # the stack's: the default


def _user() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"


def _contents(stack: Stack, user: str, conversation: str = "c") -> list[str]:
    stored = stack.ok("/get/message", {"user_id": user, "conversation_id": conversation})
    return [m["content"] for m in stored["message_detail_list"]]


def _say(content: str, **message) -> list[dict]:
    return [{"role": "user", "content": content, **message}]


# --- 4. one bad add must not fail its neighbours -------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"messages": _say("我周五去西湖。", chat_time="not a date'; DROP TABLE messages;--")},
            "messages.0.chat_time",
        ),
        (
            {"messages": _say("我周五去西湖。", chat_time="99999-01-01 10:00:00")},
            "messages.0.chat_time",
        ),
        (
            {"messages": _say("我周五去西湖。", chat_time="2025-06-11 10:00:00" + " " * 60)},
            "messages.0.chat_time",
        ),
        ({"messages": _say("我周五\x00去西湖。")}, "messages.0.content"),
        ({"user_id": "u\x00"}, "user_id"),
        ({"agent_id": "a\x00"}, "agent_id"),
        ({"tags": ["旅行", "t" * 201]}, "tags.1"),
        ({"info": {"city": "杭\x00州"}}, "info.city"),
    ],
)
def test_what_the_database_would_refuse_is_refused_at_the_edge(
    stack: Stack, change: dict, field: str
) -> None:
    user = _user()
    body = {"user_id": user, "conversation_id": "c", "messages": _say("我周五去西湖。"), **change}
    answer = stack.post("/add/message", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 40000 and f"'{field}'" in answer.json()["message"]
    assert _contents(stack, user) == []


@pytest.mark.parametrize(
    "raw",
    [
        b'{"user_id": "u", "conversation_id": "c", "messages": [{"role": "user", '
        b'"content": "\\ud800"}]}',
        b'{"user_id": "u", "conversation_id": "c", "messages": [{"role": "user", '
        b'"content": "hi"}], "info": {"score": NaN}}',
    ],
)
def test_json_no_database_stores_is_refused(stack: Stack, raw: bytes) -> None:
    answer = stack.client.post(
        "/api/openmem/v1/add/message",
        content=raw,
        headers={"Authorization": f"Token {stack.key}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 400 and answer.json()["code"] == 40000, answer.text


@pytest.mark.parametrize(
    "chat_time",
    [
        "2025-06-11 10:00:00",
        "2025-06-11T10:00:00Z",
        "2025-06-11",
        "2025/06/11 10:00:00",
        "1:56 pm on 8 May, 2023",
    ],
)
def test_every_time_format_the_extractor_reads_is_accepted(stack: Stack, chat_time: str) -> None:
    user = _user()
    stack.add(user, "c", _say("我周五去西湖。", chat_time=chat_time))
    assert _contents(stack, user) == ["我周五去西湖。"]


def _unchecked(project: str, user: str, content: str, chat_time: str | None = None):
    """An add as if its request had passed the edge: what a missed check would let through."""
    request = AddMessageRequest.model_construct(
        user_id=user,
        conversation_id="c",
        messages=[ChatMessage.model_construct(role="user", content=content, chat_time=chat_time)],
    )
    return prepare(project, request, "add", WINDOW_MS)


@pytest.mark.parametrize("stack", ["postgres"], indirect=True)
def test_a_batch_postgres_refuses_answers_only_the_refused_adds(stack: Stack) -> None:
    users = {project: _user() for project in ("p-one", "p-two", "p-three")}
    good = [_unchecked(project, user, f"我在{project}工作。") for project, user in users.items()]
    too_long_time = _unchecked("p-bad", _user(), "我喜欢爬山。", chat_time="2025-06-11" * 10)
    nul = _unchecked("p-bad", _user(), "我喜欢\x00游泳。")
    retry = _unchecked("p-one", users["p-one"], "我在p-one工作。")
    adds = [good[0], too_long_time, good[1], nul, good[2], retry]

    committed = stack.gateway.ingest.commit(adds)
    assert committed is not None
    stack.gateway.ingest.publish_and_answer([committed])
    for refused in (too_long_time, nul):
        error = refused.future.exception(timeout=5)
        assert isinstance(error, InvalidParameter) and error.code == 40000
    answers = [add.future.result(timeout=5) for add in [*good, retry]]
    assert [answer.fresh for answer in answers] == [True, True, True, False]
    assert answers[-1].task_id == answers[0].task_id
    with stack.runtime.db.session() as session:
        for project, user in users.items():
            assert session.scalars(
                select(Message.content).where(
                    Message.project_id == project, Message.user_id == user
                )
            ).all() == [f"我在{project}工作。"]
        assert (
            session.scalar(
                select(func.count()).select_from(Message).where(Message.project_id == "p-bad")
            )
            == 0
        )


# --- 6. a user who says the same thing twice is heard twice --------------------------------


def test_an_identical_add_is_a_retry_within_the_window_and_new_after_it(
    stack: Stack, monkeypatch
) -> None:
    monkeypatch.setattr(stack.settings, "add_retry_window", 1.0)
    user = _user()
    first = stack.add(user, "c", _say("yes"))
    assert stack.add(user, "c", _say("yes"))["task_id"] == first["task_id"]  # a retry
    other_info = stack.add(user, "c", _say("yes"), info={"turn": 2})  # a different request
    assert other_info["task_id"] != first["task_id"]
    assert _contents(stack, user) == ["yes", "yes"]
    time.sleep(1.1)
    again = stack.add(user, "c", _say("yes"))
    assert again["task_id"] not in (first["task_id"], other_info["task_id"])
    assert again["status"] == "running"
    assert _contents(stack, user) == ["yes", "yes", "yes"]


def _write_at(stack: Stack, monkeypatch, when: int, request: AddMessageRequest) -> str:
    monkeypatch.setattr(ingest, "now_ms", lambda: when)
    add = prepare("test-project", request, "add", WINDOW_MS)
    with stack.runtime.db.core_transaction() as connection:
        return write(connection, [add])[0].task_id


def test_a_retry_across_the_windows_border_is_still_a_retry(stack: Stack, monkeypatch) -> None:
    window = WINDOW_MS
    user = _user()
    said = AddMessageRequest(user_id=user, conversation_id="c", messages=_say("好的"))
    start = 10_000 * window - 1  # the last millisecond of a window
    first = _write_at(stack, monkeypatch, start, said)
    assert _write_at(stack, monkeypatch, start + 2, said) == first  # the next window, 2 ms later
    assert _write_at(stack, monkeypatch, start + window // 2, said) == first
    second = _write_at(stack, monkeypatch, start + window + 1, said)  # said again
    assert second != first
    third = _write_at(stack, monkeypatch, start + 2 * window + 5, said)  # a window after the second
    assert third not in (first, second)
    monkeypatch.undo()
    assert _contents(stack, user) == ["好的", "好的", "好的"]


def test_messages_with_chat_time_are_recognised_whenever_they_are_re_sent(
    stack: Stack, monkeypatch
) -> None:
    user = _user()
    said = AddMessageRequest(
        user_id=user,
        conversation_id="c",
        messages=_say("我下周去成都。", chat_time="2025-03-01 10:00"),
    )
    first = _write_at(stack, monkeypatch, 1_000_000, said)
    assert _write_at(stack, monkeypatch, 1_000_000 + 10 * WINDOW_MS, said) == first
    monkeypatch.undo()
    assert _contents(stack, user) == ["我下周去成都。"]


def test_an_idempotency_key_names_one_add(stack: Stack) -> None:
    user = _user()

    def add(content: str, key: str) -> str:
        answer = stack.post(
            "/add/message",
            {"user_id": user, "conversation_id": "c", "messages": _say(content)},
            **{"Idempotency-Key": key},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]["task_id"]

    with ThreadPoolExecutor(8) as pool:
        concurrent = set(pool.map(lambda _: add("yes", "turn-1"), range(16)))
    assert len(concurrent) == 1
    assert add("yes", "turn-1") in concurrent  # a late retry
    assert add("yes", "turn-2") not in concurrent  # said again
    assert _contents(stack, user) == ["yes", "yes"]
    too_long = stack.post(
        "/add/message",
        {"user_id": user, "conversation_id": "c", "messages": _say("yes")},
        **{"Idempotency-Key": "k" * 256},
    )
    assert too_long.status_code == 400 and "Idempotency-Key" in too_long.json()["message"]


def test_concurrent_identical_adds_without_a_key_store_once(stack: Stack) -> None:
    user = _user()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: stack.add(user, "c", _say("yes")), range(16)))
    assert len({answer["task_id"] for answer in answers}) == 1
    assert _contents(stack, user) == ["yes"]


# --- 8. a sync add must not starve the server ----------------------------------------------


def test_sixty_sync_adds_waiting_leave_the_server_answering(stack: Stack, monkeypatch) -> None:
    """Extraction is held until the other requests are answered: waits that held a pool
    thread each (40) would leave none for them."""
    released = threading.Event()
    extract = extractor.extract
    monkeypatch.setattr(
        extractor, "extract", lambda turns, use_llm: released.wait(60) and extract(turns, use_llm)
    )
    user = _user()
    other_key = stack.new_key(f"other-{uuid.uuid4().hex[:6]}")  # its lookup needs a thread
    with ThreadPoolExecutor(80) as pool:
        try:
            sync_adds = [
                pool.submit(stack.add, user, f"c{i}", _say(f"我第{i}次去成都。"), async_mode=False)
                for i in range(60)
            ]
            _wait_until_stored(stack, user, 60)
            normal = [
                pool.submit(stack.ok, "/get/message", {"user_id": user, "conversation_id": f"c{i}"})
                for i in range(20)
            ]
            normal.append(pool.submit(stack.add, _user(), "c", _say("我喜欢跑步。"), key=other_key))
            for request in normal:
                request.result(timeout=15)
            assert not any(add.done() for add in sync_adds)  # still waiting, threadless
        finally:
            released.set()
        assert [add.result(timeout=60)["status"] for add in sync_adds] == ["completed"] * 60


def _wait_until_stored(stack: Stack, user: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with stack.runtime.db.session() as session:
            if (
                session.scalar(
                    select(func.count()).select_from(Message).where(Message.user_id == user)
                )
                >= count
            ):
                return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} messages stored in 30 s")


TOOL_DIALOGUE = [
    {"role": "user", "content": "What's the weather in Hangzhou tomorrow? I'm planning a hike."},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Hangzhou"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"forecast": "rain", "high": 18}'},
    {"role": "assistant", "content": "Rain is expected tomorrow, high of 18°C."},
]


def test_openai_tool_calls_are_accepted_and_read_back(stack: Stack) -> None:
    who = f"u-{uuid.uuid4().hex[:8]}"
    task = stack.add(who, "c", TOOL_DIALOGUE)["task_id"]
    assert stack.wait(task) == "completed"
    stored = stack.ok("/get/message", {"user_id": who, "conversation_id": "c"})
    stored = stored["message_detail_list"]
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[1]["content"] == "" and stored[1]["tool_calls"] == TOOL_DIALOGUE[1]["tool_calls"]
    assert stored[2]["tool_call_id"] == "call_1" and "tool_calls" not in stored[2]
    assert "tool_calls" not in stored[0] and "tool_call_id" not in stored[0]
    memories = stack.ok("/get/memory", {"user_id": who})["memory_detail_list"]
    assert [m["memory_value"] for m in memories] == [
        "What's the weather in Hangzhou tomorrow? The user is planning a hike."
    ]  # the tool's output is no fact about the user
    again = stack.add(who, "c", TOOL_DIALOGUE)["task_id"]
    assert again == task  # a retry, tool calls and all


def test_tool_call_fields_are_checked(stack: Stack) -> None:
    def add(message: dict) -> dict:
        return stack.post(
            "/add/message", {"user_id": "u", "conversation_id": "c", "messages": [message]}
        ).json()

    empty = add({"role": "assistant", "content": ""})
    assert empty["code"] == 40002 and "messages.0.content" in empty["message"]
    wrong_role = add(
        {"role": "user", "content": "hi", "tool_calls": TOOL_DIALOGUE[1]["tool_calls"]}
    )
    assert wrong_role["code"] == 40000 and "tool_calls" in wrong_role["message"]
    answer = add({"role": "assistant", "content": "x", "tool_call_id": "call_1"})
    assert answer["code"] == 40000 and "tool_call_id" in answer["message"]
    unnamed = add({"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": ""}}]})
    assert unnamed["code"] == 40002 and "tool_calls.0.function.name" in unnamed["message"]
