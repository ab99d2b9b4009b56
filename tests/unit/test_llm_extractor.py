"""The LLM extractor against an OpenAI-compatible endpoint on localhost: prompt, parsing,
repair by asking again, and the fall back to the rules."""

import json

from services.extractor.llm_extractor import extract_by_llm, parse_output, render_dialogue
from services.extractor.schemas import Turn
from shared.config import Settings
from shared.llm import build_llm
from tests.fake_llm import FakeLLM

TURNS = [
    Turn("m0", "user", "我下周六要去杭州看望外婆。", "2025-06-02 09:00:00"),
    Turn("m1", "assistant", "好的，祝你旅途愉快！", "2025-06-02 09:00:05"),
]
GOOD = json.dumps(
    {
        "memories": [
            {
                "key": "杭州探望外婆",
                "value": "用户计划于2025-06-07去杭州看望外婆。",
                "speaker": "user",
                "tags": ["杭州", "外婆"],
                "memory_time": "2025-06-07",
                "confidence": 0.9,
                "sources": [0],
            }
        ]
    },
    ensure_ascii=False,
)


def test_prompt_carries_numbered_dialogue_with_times(llm: FakeLLM) -> None:
    llm.replies.append(GOOD)
    memories = extract_by_llm(llm.client, TURNS)
    request = llm.extraction_requests[0]
    assert request["model"] == "test-model"
    assert request["response_format"] == {"type": "json_object"}
    assert request["messages"][0]["role"] == "system"
    assert (
        "[0] user (2025-06-02 09:00:00): 我下周六要去杭州看望外婆。"
        in request["messages"][1]["content"]
    )
    assert len(memories) == 1
    memory = memories[0]
    assert memory.value == "[user观点]用户计划于2025-06-07去杭州看望外婆。"
    assert memory.memory_time == "2025-06-07 00:00:00"
    assert memory.source_ids == ["m0"] and memory.tags == ["杭州", "外婆"]


def test_bad_output_is_repaired_by_asking_again(llm: FakeLLM) -> None:
    llm.replies.extend(["this is not json", GOOD])
    memories = extract_by_llm(llm.client, TURNS)
    assert [m.key for m in memories] == ["杭州探望外婆"]
    retry = llm.extraction_requests[1]["messages"]
    assert retry[-2] == {"role": "assistant", "content": "this is not json"}
    assert "not the JSON asked for" in retry[-1]["content"]


def test_out_of_range_sources_are_rejected_then_repaired(llm: FakeLLM) -> None:
    bad = GOOD.replace('"sources": [0]', '"sources": [7]')
    llm.replies.extend([bad, GOOD])
    assert extract_by_llm(llm.client, TURNS)[0].source_ids == ["m0"]
    assert "sources [7]" in llm.extraction_requests[1]["messages"][-1]["content"]


def test_output_that_stays_bad_falls_back_to_the_rules(llm: FakeLLM) -> None:
    llm.replies.extend(["{}", '{"memories": [{"key": ""}]}', "```json\nnope\n```"])
    memories = extract_by_llm(llm.client, TURNS)
    assert len(llm.extraction_requests) == Settings().llm_max_retries + 1
    assert memories and memories[0].value.startswith("[user观点]用户下周六（2025-06-14）要去杭州")


def test_empty_answer_falls_back_to_the_rules(llm: FakeLLM) -> None:
    llm.replies.append('{"memories": []}')
    assert extract_by_llm(llm.client, TURNS)[0].source_ids == [
        "m0",
        "m1",
    ]  # the reply is its context


def test_unreachable_llm_falls_back_to_the_rules() -> None:
    unreachable = build_llm(Settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="m"))
    assert unreachable is not None
    assert extract_by_llm(unreachable, TURNS)[0].source_ids == ["m0", "m1"]


def test_parse_accepts_fenced_json_and_assistant_speaker() -> None:
    raw = "```json\n" + GOOD.replace('"speaker": "user"', '"speaker": "Assistant"') + "\n```"
    memory = parse_output(raw, TURNS)[0]
    assert memory.value.startswith("[assistant观点]")


def test_render_dialogue_numbers_turns() -> None:
    assert render_dialogue(TURNS).splitlines()[1] == (
        "[1] assistant (2025-06-02 09:00:05): 好的，祝你旅途愉快！"
    )


def test_preferences_the_llm_states_or_infers_are_kept_apart(llm: FakeLLM) -> None:
    hotel = [
        Turn("m0", "user", "订上次那家7天酒店吧，我不吃辣。", "2025-06-02 09:00:00"),
        Turn("m1", "assistant", "好的，已为你预订7天酒店。", "2025-06-02 09:00:05"),
    ]
    answer = {
        "memories": [
            {"key": "预订7天酒店", "value": "用户预订了7天酒店。", "sources": [0, 1]},
            {
                "key": "不吃辣",
                "value": "用户不吃辣。",
                "sources": [0],
                "kind": "explicit_preference",
            },
            {
                "key": "经济型酒店",
                "value": "用户可能偏好性价比高的酒店。",
                "sources": [0],
                "kind": "implicit_preference",
            },
        ]
    }
    llm.replies.append(json.dumps(answer, ensure_ascii=False))
    memories = extract_by_llm(llm.client, hotel)
    assert "implicit_preference" in llm.extraction_requests[0]["messages"][0]["content"]
    assert [(m.kind, m.value) for m in memories] == [
        ("fact", "[user观点]用户预订了7天酒店。"),
        ("explicit_preference", "用户不吃辣。"),  # a preference carries no attribution
        ("implicit_preference", "用户可能偏好性价比高的酒店。"),
    ]
    llm.replies.append(json.dumps({"memories": [{**answer["memories"][1], "kind": "opinion"}]}))
    llm.replies.append(json.dumps(answer, ensure_ascii=False))
    assert len(extract_by_llm(llm.client, hotel)) == 3  # an unknown kind is asked again
    assert "kind" in llm.extraction_requests[-1]["messages"][-1]["content"]
