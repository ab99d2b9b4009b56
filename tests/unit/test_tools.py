"""Tool memories: one per tool call, with the request it served, its arguments, the tool's
result and the answer after; tool output never becomes a fact about the user."""

from services.extractor.schemas import Turn
from services.extractor.service import extract

WEATHER = [
    Turn("m1", "user", "明天杭州天气怎么样？", "2026-01-01 10:00:00"),
    Turn(
        "m2",
        "assistant",
        "",
        "2026-01-01 10:00:01",
        [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "杭州"}'},
            }
        ],
    ),
    Turn("m3", "tool", '{"forecast": "rain", "high": 8}', None, None, "call_1"),
    Turn("m4", "assistant", "明天杭州有雨，最高8度。", None),
]


def call(call_id: str, name: str, arguments: str = "{}") -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_a_tool_call_is_remembered_with_its_request_result_and_answer() -> None:
    memories = extract(WEATHER, None)
    (tool,) = [m for m in memories if m.kind == "tool"]
    assert tool.value == (
        '为用户的请求“明天杭州天气怎么样？”调用了工具 weather（参数 {"city": "杭州"}），'
        '返回 {"forecast": "rain", "high": 8}；助手回答：明天杭州有雨，最高8度。'
    )
    assert tool.source_ids == ["m1", "m2", "m3", "m4"]
    assert tool.key == "weather: 明天杭州天气怎么样？" and tool.tags[0] == "weather"
    assert tool.speaker == "assistant" and tool.memory_time == "2026-01-01 10:00:01"
    facts = [m for m in memories if m.kind == "fact"]
    assert all("forecast" not in m.value and "m3" not in m.source_ids for m in facts)


def test_each_call_of_a_turn_is_a_memory_and_a_missing_result_is_said() -> None:
    turns = [
        Turn("u", "user", "Book me a table for two at an Italian place tonight.", None),
        Turn(
            "a",
            "assistant",
            "",
            None,
            [call("c1", "search_restaurants", '{"cuisine": "italian"}'), call("c2", "book_table")],
        ),
        Turn("t1", "tool", '["Da Mario"]', None, None, "c1"),
        Turn("b", "assistant", "Booked Da Mario for two at 19:30.", None),
    ]
    first, second = [m for m in extract(turns, None) if m.kind == "tool"]
    assert first.value == (
        'The assistant called the tool search_restaurants with {"cuisine": "italian"} for the '
        'request "Book me a table for two at an Italian place tonight."; it returned '
        '["Da Mario"]. The assistant answered: Booked Da Mario for two at 19:30.'
    )
    assert second.value.startswith("The assistant called the tool book_table for the request")
    assert "it returned nothing" in second.value and second.source_ids == ["u", "a", "b"]


def test_tool_output_is_never_a_fact_about_the_user() -> None:
    turns = [
        Turn("u", "user", "Look up my profile.", None),
        Turn("a", "assistant", "", None, [call("c1", "profile")]),
        Turn("t", "tool", "I love hiking and I live in Paris.", None, None, "c1"),
    ]
    memories = extract(turns, None)
    assert [m.kind for m in memories if "Paris" in m.value] == ["tool"]
    assert not [m for m in memories if m.kind != "tool" and "t" in m.source_ids]
    assert extract([Turn("u", "user", "Hello there, how are you?", None)], None) == []
