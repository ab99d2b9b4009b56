from services.extractor.rules import extract_by_rules, normalize_time, rewrite_person
from services.extractor.schemas import ExtractedMemory, Turn
from tests.stack import GUIDE_MESSAGES


def turns(*pairs) -> list[Turn]:
    return [Turn(f"m{i}", role, content, None) for i, (role, content) in enumerate(pairs)]


def facts(said: list[Turn]) -> list[ExtractedMemory]:
    """The facts the rules make (preferences: test_preferences.py)."""
    return [m for m in extract_by_rules(said) if m.kind == "fact"]


def test_guide_dialogue_gives_one_memory_with_the_assistant_turns_as_context() -> None:
    (user,) = facts(turns(*[(m["role"], m["content"]) for m in GUIDE_MESSAGES]))
    assert user.value == (
        "[user观点]用户想暑假出去玩；肯定要带孩子啊，用户家出门都是全家一起；"
        "带上孩子和老人，一般都是全家行动。"
    )
    assert user.key == "用户想暑假出去玩"
    assert user.source_ids == ["m0", "m1", "m2", "m3", "m4", "m5"]
    assert user.context.splitlines() == [m["content"] for m in GUIDE_MESSAGES[1::2]]
    assert {"暑假", "全家", "孩子"} <= set(user.tags)


def test_named_speakers_are_named_and_questions_keep_their_answer() -> None:
    caroline, melanie = "Caroline: ", "Melanie: "
    first, second = facts(
        [
            Turn("m0", "assistant", melanie + "Hey Caroline! What have you been up to?", None),
            Turn(
                "m1",
                "user",
                caroline + "I went to a LGBTQ support group yesterday.",
                "2023-05-08 13:56:00",
            ),
            Turn("m2", "assistant", melanie + "That's great! I painted a lake sunrise.", None),
            Turn(
                "m3", "user", caroline + "Wow, do you paint often? I love your colours there.", None
            ),
            Turn(
                "m4",
                "assistant",
                melanie + "Yes, painting is my therapy, I do it every week.",
                None,
            ),
        ]
    )
    assert first.value == ("Caroline went to a LGBTQ support group yesterday (2023-05-07).")
    assert (first.subject, first.source_ids, first.memory_time) == (
        "Caroline",
        ["m0", "m1", "m2"],
        "2023-05-07",
    )
    assert second.value.startswith("Wow, does Melanie paint often? Caroline loves Melanie's")
    assert second.source_ids == ["m2", "m3", "m4"]


def test_a_question_is_remembered_with_its_answer() -> None:
    (memory,) = facts(
        turns(
            ("user", "What's a good book about Japan's history?"),
            ("assistant", "I'd recommend Embracing Defeat."),
        )
    )
    assert memory.value == (
        "What's a good book about Japan's history? The assistant would recommend Embracing Defeat."
    )


def test_english_is_rewritten_in_the_third_person() -> None:
    (memory,) = facts(turns(("user", "I'm allergic to peanuts and my son is too.")))
    assert memory.value == "The user is allergic to peanuts and the user's son is too."
    assert "peanuts" in memory.tags


def test_fillers_questions_and_tool_turns_make_no_memory() -> None:
    assert (
        facts(
            turns(
                ("user", "ok"),
                ("user", "好的"),
                ("assistant", "还有别的吗？"),
                ("system", "You are a helpful assistant with memory."),
                ("tool", '{"weather": "sunny in Hangzhou today"}'),
            )
        )
        == []
    )


def test_long_runs_split_and_languages_do_not_mix() -> None:
    memories = facts(
        turns(
            *[("user", f"我喜欢第{i}种运动，每周练习三次。") for i in range(4)],
            ("user", "I also enjoy chess."),
        )
    )
    assert [m.source_ids for m in memories] == [["m0", "m1", "m2"], ["m3"], ["m4"]]


def test_a_question_that_says_something_is_kept() -> None:
    (memory,) = facts(turns(("user", "Where should I go in Japan this spring?")))
    assert "Japan" in memory.value


def test_time_spellings() -> None:
    assert normalize_time("2025-03-02T10:00:00Z") == "2025-03-02 10:00:00"
    assert normalize_time("2025/03/02") == "2025-03-02 00:00:00"
    assert normalize_time("1:56 pm on 8 May, 2023") == "2023-05-08 13:56:00"
    assert normalize_time("yesterday-ish") == "yesterday-ish"
    assert normalize_time(None) is None


def test_rewrite_person() -> None:
    assert rewrite_person("我们家你来过吗", "user") == "用户家助手来过吗"
    assert rewrite_person("我建议你早点出发", "assistant") == "助手建议用户早点出发"


def test_relative_times_become_dates_from_chat_time() -> None:
    (memory,) = facts([Turn("m0", "user", "我上周六去杭州看了外婆。", "2025-06-11 10:00:00")])
    assert memory.value == "[user观点]用户上周六（2025-06-07）去杭州看了外婆。"
    assert memory.memory_time == "2025-06-07"
    assert "外婆" in memory.tags and not any("2025" in t for t in memory.tags)
    (english,) = facts(
        [Turn("m1", "user", "I sold my old car two days ago.", "2025-06-11T18:00:00Z")]
    )
    assert english.value == "The user sold the user's old car two days ago (2025-06-09)."
    assert english.memory_time == "2025-06-09"


def test_greetings_reactions_and_the_listeners_name_are_left_out() -> None:
    (memory,) = facts(
        [
            Turn("m0", "assistant", "Maria: Hey John, how was the weekend?", None),
            Turn(
                "m1",
                "user",
                "John: Thanks, Maria! Glad you asked, Maria. I set up a 5K charity "
                "run in my neighborhood.",
                None,
            ),
        ]
    )
    assert memory.value == (
        "Glad Maria asked. John set up a 5K charity run in John's neighborhood."
    )


def test_a_short_statement_after_a_remark_is_a_memory_of_its_own() -> None:
    """Joined to the thesis before it, the cat would be archived with the thesis when the
    user moves; after the assistant's question, a short answer still joins."""
    memories = facts(
        turns(
            ("user", "我在成都读研三，最近写论文写得头大。"),
            ("assistant", "论文阶段确实辛苦，可以先和导师商量。"),
            ("user", "我养了一只英短蓝猫，叫年糕。"),
            ("assistant", "年糕多大了？"),
            ("user", "两岁了，很黏人。"),
        )
    )
    assert [m.source_ids for m in memories] == [["m0", "m1"], ["m1", "m2", "m3", "m4"]]


def test_goodbyes_are_no_memory_and_leave_the_statements_they_end() -> None:
    memories = facts(
        [
            Turn("m0", "assistant", "John: How was the trip?", None),
            Turn(
                "m1", "user", "Tim: I went hiking in Oregon with my sister. Take care, bye!", None
            ),
            Turn("m2", "assistant", "John: Cool! Bye!", None),
            Turn("m3", "user", "Tim: Have fun! Take care and talk to you soon.", None),
            Turn("m4", "user", "Tim: Love hearing about it. Let's chat soon.", None),
        ]
    )
    assert [m.value for m in memories] == [
        "Tim went hiking in Oregon with Tim's sister.",
        "Love hearing about it.",
    ]


def test_small_talk_sentences_make_no_memory_text() -> None:
    (memory,) = facts(
        turns(
            ("assistant", "I finally finished the marathon last weekend!"),
            ("user", "Wow, that's amazing! Keep it up! I ran my first 10k in May. How about you?"),
        )
    )
    assert memory.value == "The user ran the user's first 10k in May."
    assert facts(turns(("user", "Thanks for the tips, take care!"))) == []
    (question,) = facts(turns(("user", "Wow, do you paint often? Great colours!")))
    assert question.value.startswith("Wow, does the assistant paint often?")


def test_a_lower_case_word_after_a_pet_is_no_name_and_sentences_start_capitalised() -> None:
    (memory,) = facts(
        turns(
            ("user", "Guess what - I got a puppy two weeks ago! Her name is Coco and she's cute.")
        )
    )
    assert "Two" not in memory.value and "two weeks ago" in memory.value
    (memory,) = facts(turns(("user", "yeah, it's a way for me to express my feelings.")))
    assert memory.value.startswith("It's a way for the user to express")
