"""Preferences by rules: what the user states they like, dislike, do by habit or must avoid,
in Chinese and English, and when a newer preference makes an older one outdated."""

import pytest

from services.extractor.consolidation import decide_by_rules
from services.extractor.preferences import opposed
from services.extractor.rules import extract_by_rules
from services.extractor.schemas import Turn
from tests.unit.test_consolidation import E5, memory, near


def preferences(text: str) -> list[str]:
    said = [Turn("m1", "user", text, "2026-01-01 10:00:00"), Turn("m2", "assistant", "OK.", None)]
    found = extract_by_rules(said)
    liked = [m for m in found if m.kind == "explicit_preference"]
    assert all(m.source_ids == ["m1", "m2"] for m in liked)
    assert not liked or found[0].kind == "fact", "the fact is kept beside them"
    return [m.value for m in liked]


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("我喜欢靠窗的座位。", ["用户喜欢靠窗的座位"]),
        ("我不吃辣，也不喜欢香菜。", ["用户不吃辣", "用户不喜欢香菜"]),
        ("我最爱吃火锅，但我女儿对花生过敏。", ["用户最爱吃火锅", "用户女儿对花生过敏"]),
        ("出差的话我一般住全季，比较安静。", ["出差的话用户一般住全季"]),
        (
            "I prefer window seats when I fly.",
            ["The user prefers window seats when the user flies."],
        ),
        (
            "I don't like spicy food, and I love sushi.",
            ["The user doesn't like spicy food.", "The user loves sushi."],
        ),
        (
            "My favorite color is blue. I'm vegetarian.",
            ["The user's favorite color is blue.", "The user is vegetarian."],
        ),
        (
            "I am allergic to peanuts, and my daughter Emma just started learning piano.",
            ["The user is allergic to peanuts."],
        ),
        ("Caroline: I love painting landscapes.", ["Caroline loves painting landscapes."]),
        # Not preferences: questions, plans, the past, a pronoun for the object, other people.
        ("你喜欢吃辣吗？", []),
        ("我想去云南玩。", []),
        ("我以前喜欢喝咖啡。", []),
        ("Do you like sushi?", []),
        ("I used to love coffee.", []),
        ("I don't drink it anymore.", []),
        ("I think it looks like rain.", []),
        ("Everyone loves a good story.", []),
    ],
)
def test_stated_preferences(said: str, expected: list[str]) -> None:
    assert preferences(said) == expected


def test_the_assistant_states_no_preference_of_the_user() -> None:
    said = [
        Turn("m1", "user", "What's good in Chengdu?", None),
        Turn("m2", "assistant", "I love the hotpot there, and I prefer the old town.", None),
    ]
    assert [m for m in extract_by_rules(said) if m.kind != "fact"] == []


@pytest.mark.parametrize(
    ("newer", "older", "outdated"),
    [
        ("用户不吃辣", "用户爱吃辣", True),
        ("用户喜欢吃辣", "用户不吃辣", True),
        ("用户现在更喜欢靠过道的座位了", "用户喜欢靠窗的座位", True),
        ("The user doesn't like sushi anymore.", "The user loves sushi.", True),
        (
            "The user now prefers aisle seats.",
            "The user prefers window seats when the user flies.",
            True,
        ),
        # Both may hold: other things, or another thing of the same kind without a change.
        ("The user likes Italian food.", "The user likes Chinese food.", False),
        ("用户喜欢喝茶", "用户不吃辣", False),
        ("用户女儿不吃辣", "用户爱吃辣", False),  # someone else
    ],
)
def test_a_newer_preference_outdates_an_older_one(newer: str, older: str, outdated: bool) -> None:
    assert opposed(newer, older) is outdated
    new = memory(newer)
    new.kind = "explicit_preference"
    decision = decide_by_rules(new, "user", [near(older, 0.9)], E5)
    assert decision.relation == ("update" if outdated else "new")
    assert decision.memory_type == "UserMemory"
