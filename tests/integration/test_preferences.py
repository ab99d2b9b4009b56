"""Preference memory through the API: extracted from what the user states, listed apart from
facts in search (with a note a prompt can carry) and get, and a newer contrary preference
archiving the older one."""

import uuid

from tests.stack import Stack

TRIP = [
    {"role": "user", "content": "I prefer window seats when I fly, and I don't like spicy food."},
    {"role": "assistant", "content": "Got it, window seats and mild food."},
    {"role": "user", "content": "我对花生过敏，平时喜欢喝绿茶。"},
    {"role": "assistant", "content": "好的，记住了。"},
    {"role": "user", "content": "We are flying to Tokyo in March for a conference."},
]


def user() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"


def told(stack: Stack, who: str, messages: list[dict], chat_time: str) -> None:
    dated = [{**m, "chat_time": chat_time} for m in messages]
    assert stack.wait(stack.add(who, "c1", dated)["task_id"]) == "completed"


def test_search_lists_the_preferences_that_bear_on_the_query(stack: Stack) -> None:
    who = user()
    told(stack, who, TRIP, "2026-03-01 09:00:00")
    found = stack.search(who, "Book me a seat on the flight to Tokyo", return_instruction=True)
    preferences = found["preference_detail_list"]
    assert preferences[0]["preference"] == "The user prefers window seats when the user flies."
    assert preferences[0]["preference_type"] == "explicit_preference"
    assert preferences[0]["relativity"] >= 0.3
    assert preferences[0]["sources"][0]["content"] == TRIP[0]["content"]
    assert {p["preference"] for p in preferences} == {
        "The user prefers window seats when the user flies.",
        "The user doesn't like spicy food.",
        "用户对花生过敏",
        "用户平时喜欢喝绿茶",
    }
    assert "window seats" in found["preference_note"]
    assert found["preference_note"].startswith("The user's preferences:")
    assert "The user prefers window seats" in found["instruction"]
    # Facts stay in memory_detail_list, each once; preferences are not among them.
    facts = found["memory_detail_list"]
    assert facts and all("preference_type" not in m for m in facts)
    assert any("Tokyo" in m["memory_value"] for m in facts)

    chinese = stack.search(who, "帮我点一份花生酱三明治", preference_limit_number=1)
    (snack,) = chinese["preference_detail_list"]
    assert snack["preference"] == "用户对花生过敏"
    assert chinese["preference_note"] == "用户的偏好：用户对花生过敏。回答时请遵循这些偏好。"

    without = stack.search(who, "Book me a flight", include_preference=False)
    assert without["preference_detail_list"] is None and without["preference_note"] is None
    assert (
        stack.search(who, "Book me a flight", preference_limit_number=0)["preference_detail_list"]
        == []
    )


def test_a_newer_contrary_preference_archives_the_older(stack: Stack) -> None:
    who = user()
    told(stack, who, TRIP, "2026-03-01 09:00:00")
    told(
        stack,
        who,
        [{"role": "user", "content": "I now prefer aisle seats, window seats feel cramped."}],
        "2026-05-01 09:00:00",
    )
    told(stack, who, [{"role": "user", "content": "我现在不喝绿茶了，改喝咖啡。"}], "2026-05-02")
    found = stack.search(who, "Which seat should I book on the plane?")["preference_detail_list"]
    liked = [p["preference"] for p in found]
    assert liked[0] == "The user now prefers aisle seats, window seats feel cramped."
    assert "The user prefers window seats when the user flies." not in liked
    listed = stack.ok("/get/memory", {"user_id": who, "size": 50})
    by_text = {p["preference"]: p for p in listed["preference_detail_list"]}
    window = by_text["The user prefers window seats when the user flies."]
    aisle = by_text["The user now prefers aisle seats, window seats feel cramped."]
    assert window["status"] == "archived" and window["superseded_by"] == aisle["id"]
    assert [h["id"] for h in aisle["history"]] == [window["id"]]
    assert by_text["用户平时喜欢喝绿茶"]["status"] == "archived"
    assert by_text["用户现在不喝绿茶了"]["status"] == "activated"
    assert by_text["The user doesn't like spicy food."]["status"] == "activated"
    assert all("preference_type" not in m for m in listed["memory_detail_list"])
    facts_only = stack.ok("/get/memory", {"user_id": who, "include_preference": False})
    assert facts_only["preference_detail_list"] is None
    assert facts_only["total"] == listed["total"]  # facts counted alone either way
