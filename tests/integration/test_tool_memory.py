"""Tool memory through the API: an exchange with tool calls leaves, beside the user's facts,
a memory of what each tool did for which request; search lists them apart on request
(`include_tool_memory`), get/memory by default, and the same exchange again merges."""

import uuid

from tests.integration.test_adds import TOOL_DIALOGUE
from tests.stack import Stack

TRAINS = [
    {"role": "user", "content": "Find me a train from Shanghai to Hangzhou on Friday morning."},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_9",
                "type": "function",
                "function": {
                    "name": "search_trains",
                    "arguments": '{"from": "Shanghai", "to": "Hangzhou", "day": "Friday"}',
                },
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_9", "content": '[{"train": "G7501", "at": "08:05"}]'},
    {"role": "assistant", "content": "G7501 leaves Shanghai at 08:05 on Friday."},
]


def test_tool_calls_become_tool_memories_listed_apart(stack: Stack) -> None:
    who = f"u-{uuid.uuid4().hex[:8]}"
    for conversation, dialogue in (("c1", TOOL_DIALOGUE), ("c2", TRAINS)):
        assert stack.wait(stack.add(who, conversation, dialogue)["task_id"]) == "completed"
    found = stack.search(who, "Which train did you find to Hangzhou?", include_tool_memory=True)
    first, second = found["tool_memory_detail_list"]
    assert first["memory_value"] == (
        'The assistant called the tool search_trains with {"from": "Shanghai", "to": '
        '"Hangzhou", "day": "Friday"} for the request "Find me a train from Shanghai to '
        'Hangzhou on Friday morning."; it returned [{"train": "G7501", "at": "08:05"}]. The '
        "assistant answered: G7501 leaves Shanghai at 08:05 on Friday."
    )
    assert [s["role"] for s in first["sources"]] == ["user", "assistant", "tool", "assistant"]
    assert first["relativity"] > second["relativity"]
    assert second["memory_value"].startswith("The assistant called the tool get_weather")
    assert all("G7501" not in m["memory_value"] for m in found["memory_detail_list"])
    assert stack.search(who, "train to Hangzhou")["tool_memory_detail_list"] is None
    assert (
        stack.search(who, "train", include_tool_memory=True, tool_memory_limit_number=1)[
            "tool_memory_detail_list"
        ][0]["id"]
        == first["id"]
    )

    listed = stack.ok("/get/memory", {"user_id": who})
    assert {m["id"] for m in listed["tool_memory_detail_list"]} == {first["id"], second["id"]}
    assert all(m["memory_type"] == "LongTermMemory" for m in listed["tool_memory_detail_list"])
    assert listed["total"] == len(listed["memory_detail_list"]) == 2  # the user's two requests
    assert (
        stack.ok("/get/memory", {"user_id": who, "include_tool_memory": False})[
            "tool_memory_detail_list"
        ]
        is None
    )

    # The same exchange again, later: the tool memory it repeats gains its sources.
    later = [{**m, "chat_time": "2026-12-01 09:00:00"} for m in TRAINS]
    assert stack.wait(stack.add(who, "c3", later)["task_id"]) == "completed"
    again = stack.ok("/get/memory", {"user_id": who})["tool_memory_detail_list"]
    assert len(again) == 2
    (trains,) = [m for m in again if m["id"] == first["id"]]
    assert len(trains["sources"]) == 8


def test_extract_memory_shows_the_tool_memories(stack: Stack) -> None:
    extracted = stack.ok("/extract/memory", {"messages": TRAINS})
    (tool,) = extracted["tool_memory_detail_list"]
    assert tool["memory_value"].startswith("The assistant called the tool search_trains")
    assert tool["sources"] == [0, 1, 2, 3] and tool["memory_type"] == "LongTermMemory"
    assert [m["sources"] for m in extracted["memory_detail_list"]] == [[0, 3]]
