from services.extractor.rules import extract_by_rules, normalize_time, rewrite_person
from services.extractor.schemas import Turn
from tests.stack import GUIDE_MESSAGES


def turns(*pairs) -> list[Turn]:
    return [Turn(f"m{i}", role, content, None) for i, (role, content) in enumerate(pairs)]


def test_guide_dialogue_gives_one_user_memory_and_one_assistant_memory() -> None:
    memories = extract_by_rules(turns(*[(m["role"], m["content"]) for m in GUIDE_MESSAGES]))
    user, assistant = memories
    assert user.value == ("[user观点]用户想暑假出去玩；肯定要带孩子啊，用户家出门都是全家一起；"
                          "带上孩子和老人，一般都是全家行动。")
    assert user.key == "用户想暑假出去玩"
    assert user.source_ids == ["m0", "m2", "m4"]
    assert {"暑假", "全家", "孩子"} <= set(user.tags)
    assert assistant.value == "[assistant观点]助手会帮用户推荐适合家庭出游的目的地。"
    assert assistant.source_ids == ["m5"] and assistant.confidence < user.confidence


def test_english_is_rewritten_in_the_third_person() -> None:
    (memory,) = extract_by_rules(turns(("user", "I'm allergic to peanuts and my son is too.")))
    assert memory.value == (
        "[user's view] The user is allergic to peanuts and the user's son is too.")
    assert "peanuts" in memory.tags


def test_fillers_questions_and_tool_turns_make_no_memory() -> None:
    assert extract_by_rules(turns(("user", "ok"), ("user", "好的"), ("assistant", "还有别的吗？"),
                                  ("system", "You are a helpful assistant with memory."),
                                  ("tool", "{\"weather\": \"sunny in Hangzhou today\"}"))) == []


def test_long_runs_split_and_languages_do_not_mix() -> None:
    memories = extract_by_rules(turns(*[("user", f"我喜欢第{i}种运动，每周练习三次。")
                                        for i in range(4)], ("user", "I also enjoy chess.")))
    assert [m.source_ids for m in memories] == [["m0", "m1", "m2"], ["m3"], ["m4"]]


def test_a_question_that_says_something_is_kept() -> None:
    (memory,) = extract_by_rules(turns(("user", "Where should I go in Japan this spring?")))
    assert "Japan" in memory.value


def test_time_spellings() -> None:
    assert normalize_time("2025-03-02T10:00:00Z") == "2025-03-02 10:00:00"
    assert normalize_time("2025/03/02") == "2025-03-02 00:00:00"
    assert normalize_time("1:56 pm on 8 May, 2023") == "2023-05-08 13:56:00"
    assert normalize_time("yesterday-ish") == "yesterday-ish"
    assert normalize_time(None) is None


def test_rewrite_person() -> None:
    assert rewrite_person("我们家你来过吗", "user", "zh") == "用户家助手来过吗"
    assert rewrite_person("我建议你早点出发", "assistant", "zh") == "助手建议用户早点出发"
    assert rewrite_person("I told you my plan", "user", "en") == (
        "The user told the assistant the user's plan")


def test_relative_times_become_dates_from_chat_time() -> None:
    (memory,) = extract_by_rules([Turn("m0", "user", "我上周六去杭州看了外婆。",
                                       "2025-06-11 10:00:00")])
    assert memory.value == "[user观点]用户上周六（2025-06-07）去杭州看了外婆。"
    assert memory.memory_time == "2025-06-07"
    assert "外婆" in memory.tags and not any("2025" in t for t in memory.tags)
    (english,) = extract_by_rules([Turn("m1", "user", "I sold my old car two days ago.",
                                        "2025-06-11T18:00:00Z")])
    assert english.value == "[user's view] The user sold the user's old car two days ago " \
                            "(2025-06-09)."
    assert english.memory_time == "2025-06-09"
