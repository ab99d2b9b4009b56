"""Chat against `memos serve` with an LLM (the OpenAI-compatible endpoint the tests start):
streamed as server-sent events, a client that goes away mid-stream, and the official SDK."""

import json
import time
from pathlib import Path

import httpx

from tests.e2e.process import post, run_service
from tests.e2e.test_sdk import run_sdk
from tests.fake_llm import fake_llm_server
from tests.stack import GUIDE_MESSAGES


def events(response: httpx.Response):
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


def messages(service, key: str, conversation: str) -> list[str]:
    found = post(service, key, "/get/message", {"user_id": "u", "conversation_id": conversation})
    return [m["content"] for m in found.json()["data"]["message_detail_list"]]


def test_streamed_chat_and_a_client_that_goes_away(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with (
        fake_llm_server() as (llm, url),
        run_service("serve", data, LLM_BASE_URL=url, LLM_MODEL="test-model") as service,
    ):
        key = (data / "api-key").read_text().strip()
        body = {"user_id": "u", "conversation_id": "c1", "messages": GUIDE_MESSAGES}
        assert post(service, key, "/add/message", {**body, "async_mode": False}).json()["code"] == 0
        headers = {"Authorization": f"Token {key}"}
        llm.answers.append("推荐 三亚 或 厦门 ，都适合 全家 出游 。")
        asked_before = len(llm.requests)
        chat = {"user_id": "u", "conversation_id": "c1", "query": "国庆去哪玩", "stream": True}
        with httpx.stream("POST", service.api + "/chat", json=chat, headers=headers) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            got = list(events(response))
        assert got[0]["type"] == "reference" and got[0]["data"]
        texts = [e["data"] for e in got if e["type"] == "text"]
        assert len(texts) == 8 and "".join(texts) == "推荐 三亚 或 厦门 ，都适合 全家 出游 。"
        end = got[-1]
        assert end["type"] == "end" and end["data"]["response"] == "".join(texts)
        # The chat's request (the stored exchange's extraction may ask the LLM after it).
        assert llm.requests[asked_before]["stream"] is True and llm.streams[-1]["finished"]
        deadline = time.monotonic() + 10
        while "国庆去哪玩" not in messages(service, key, "c1") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert messages(service, key, "c1")[-2:] == ["国庆去哪玩", "".join(texts)]

        # A client that goes away: the LLM's stream is cut, and nothing is stored.
        llm.chunk_delay = 0.2
        llm.answers.append(" ".join(f"word{i}" for i in range(40)))
        gone = {**chat, "conversation_id": "c2", "query": "说个长一点的"}
        with httpx.stream("POST", service.api + "/chat", json=gone, headers=headers) as response:
            for event in events(response):
                if event["type"] == "text":
                    break  # the client closes the connection here
        time.sleep(1.5)
        assert not llm.streams[-1]["finished"] and llm.streams[-1]["chunks"] < 20
        assert messages(service, key, "c2") == []
        # The service serves on.
        llm.chunk_delay = 0
        assert (
            post(service, key, "/search/memory", {"user_id": "u", "query": "国庆"}).json()["code"]
            == 0
        )


def test_official_sdk_chat(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with (
        fake_llm_server() as (llm, url),
        run_service("serve", data, LLM_BASE_URL=url, LLM_MODEL="test-model") as service,
    ):
        llm.answers.extend(["去三亚吧。", "住 海边 的 酒店 。"])
        result = run_sdk("sdk_chat.py", service, data)
    assert result["response"] == "去三亚吧。"
    kinds = [e["type"] for e in result["events"]]
    assert kinds[0] == "reference" and kinds[-1] == "end" and kinds.count("text") == 5
    assert result["events"][-1]["data"]["response"] == "住 海边 的 酒店 。"
    # The second turn carried the first exchange as history.
    (streamed,) = [r for r in llm.requests if r.get("stream")]
    assert [m["content"] for m in streamed["messages"][1:]] == [
        "国庆去哪玩",
        "去三亚吧。",
        "那住哪里好？",
    ]
