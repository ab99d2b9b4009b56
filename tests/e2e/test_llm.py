"""`memos serve` with an LLM configured (an OpenAI-compatible endpoint on localhost): the
LLM extracts the memories and writes the instructions."""

from pathlib import Path

from tests.e2e.process import post, run_service
from tests.e2e.test_embedded import CONVERSATION, wait_searchable
from tests.fake_llm import fake_llm_server
from tests.stack import GUIDE_MESSAGES


def test_llm_extraction_and_instructions(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with (
        fake_llm_server() as (llm, url),
        run_service("serve", data, LLM_BASE_URL=url, LLM_MODEL="test-model") as service,
    ):
        key = (data / "api-key").read_text().strip()
        post(service, key, "/add/message", {**CONVERSATION, "messages": GUIDE_MESSAGES})
        memories = wait_searchable(service, key, "国庆去哪玩")
        assert {m["memory_value"] for m in memories} >= {
            "[user观点]用户提到：我想暑假出去玩，你能帮我推荐下吗？"
        }
        assert all(m["tags"] == ["llm"] and m["confidence"] == 0.95 for m in memories)
        assert len(memories) == 3  # one per user message, as the endpoint answered
        by_source = {m["sources"][0]["content"]: m for m in memories}
        assert set(by_source) == {m["content"] for m in GUIDE_MESSAGES if m["role"] == "user"}

        found = post(
            service,
            key,
            "/search/memory",
            {
                "user_id": CONVERSATION["user_id"],
                "query": "国庆去哪玩",
                "return_instruction": True,
                "return_full_instruction": True,
            },
        ).json()["data"]
        assert found["instruction"].startswith("LLM-WRITTEN PROMPT")
        assert found["full_instruction"].startswith("LLM-WRITTEN PROMPT")
        prompts = [
            r["messages"][-1]["content"] for r in llm.requests if not r.get("response_format")
        ]
        assert any("国庆去哪玩" in p and "用户提到" in p for p in prompts)
