"""Chat: memories, preferences and the conversation's latest turns go to the LLM with the
query; the answer comes back and the exchange is stored as messages of the conversation."""

import uuid

from shared.config import Settings
from shared.llm import build_llm
from tests.fake_llm import FakeLLM
from tests.stack import GUIDE_MESSAGES, Stack


def test_without_an_llm_chat_answers_a_documented_error(stack: Stack) -> None:
    response = stack.post("/chat", {"user_id": "u", "conversation_id": "c", "query": "hi"})
    assert response.status_code == 501
    assert response.json()["code"] == 50007 and "LLM_BASE_URL" in response.json()["message"]
    missing = stack.post("/chat", {"user_id": "u", "conversation_id": "c"})
    assert missing.json()["code"] == 40002 and "query" in missing.json()["message"]


def test_chat_answers_with_memories_and_stores_the_exchange(stack: Stack, llm: FakeLLM) -> None:
    who = f"u-{uuid.uuid4().hex[:8]}"
    stack.ok(
        "/add/message",
        {"user_id": who, "conversation_id": "c1", "messages": GUIDE_MESSAGES, "async_mode": False},
    )
    llm.answers.append("推荐去三亚，适合全家出游。")
    asked_before = len(llm.requests)
    answered = stack.ok(
        "/chat",
        {
            "user_id": who,
            "conversation_id": "c1",
            "query": "国庆去哪玩",
            "system_prompt": "你是旅行顾问。",
            "temperature": 0.2,
            "max_tokens": 300,
        },
    )
    assert answered["response"] == "推荐去三亚，适合全家出游。"
    # The chat's request: the stored exchange's extraction may ask the LLM right after it.
    sent = llm.requests[asked_before]
    assert (sent["temperature"], sent["max_tokens"]) == (0.2, 300) and not sent.get("stream")
    system, *history, asked = sent["messages"]
    assert system["role"] == "system" and system["content"].startswith("你是旅行顾问。")
    assert "用户提到：我想暑假出去玩" in system["content"]  # the memory the fake LLM extracted
    assert [m["content"] for m in history] == [m["content"] for m in GUIDE_MESSAGES]
    assert asked == {"role": "user", "content": "国庆去哪玩"}
    assert answered["references"] and answered["references"][0]["relativity"] is not None
    assert stack.wait(answered["task_id"]) == "completed"
    stored = stack.ok("/get/message", {"user_id": who, "conversation_id": "c1"})
    assert [m["content"] for m in stored["message_detail_list"][-2:]] == [
        "国庆去哪玩",
        "推荐去三亚，适合全家出游。",
    ]

    llm.answers.append("好的。")
    quiet = stack.ok(
        "/chat",
        {"user_id": who, "conversation_id": "c2", "query": "你好", "add_message_on_answer": False},
    )
    assert (quiet["response"], quiet["task_id"]) == ("好的。", None)
    assert stack.ok("/get/message", {"user_id": who, "conversation_id": "c2"}) == {
        "message_detail_list": []
    }


def test_an_llm_that_does_not_answer_is_a_clear_error(stack: Stack, monkeypatch) -> None:
    down = build_llm(Settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="m", llm_timeout=2))
    monkeypatch.setattr(stack.runtime, "llm", down)
    response = stack.post("/chat", {"user_id": "u", "conversation_id": "c", "query": "hi"})
    assert (response.status_code, response.json()["code"]) == (502, 50008)
    assert "APIConnectionError" in response.json()["message"]
