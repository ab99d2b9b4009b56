"""Consolidation on the whole pipeline: duplicates merged, contradicted facts archived with a
history link, corrections by feedback, and no fact ever lost or shown as current when stale."""

import uuid
from concurrent.futures import ThreadPoolExecutor

from services.extractor.service import Extractor
from shared.db.models import Job
from tests.stack import Stack


def user() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"


def say(stack: Stack, who: str, conversation: str, text: str, when: str | None = None) -> str:
    message = {"role": "user", "content": text, **({"chat_time": when} if when else {})}
    task = stack.add(who, conversation, [message])["task_id"]
    assert stack.wait(task) == "completed"
    return task


def memories(stack: Stack, who: str) -> list[dict]:
    return stack.ok("/get/memory", {"user_id": who, "size": 50})["memory_detail_list"]


def test_a_fact_said_again_is_merged_and_confirmed(stack: Stack) -> None:
    who = user()
    say(stack, who, "c1", "我每周三晚上去游泳。")
    say(stack, who, "c2", "我每周三晚上去游泳。")
    (memory,) = memories(stack, who)
    assert [s["content"] for s in memory["sources"]] == ["我每周三晚上去游泳。"] * 2
    assert memory["memory_type"] == "LongTermMemory"  # confirmed by repetition
    assert len(stack.search(who, "运动安排")["memory_detail_list"]) == 1


def test_a_newer_contradicting_fact_replaces_the_older_one(stack: Stack) -> None:
    who = user()
    say(stack, who, "c1", "我住在杭州，离西湖很近。", "2025-01-05 10:00:00")
    say(stack, who, "c2", "我上个月搬到了上海。", "2025-06-05 10:00:00")
    found = stack.search(who, "我现在住在哪个城市？")["memory_detail_list"]
    assert "上海" in found[0]["memory_value"]
    assert all("杭州" not in m["memory_value"] for m in found)  # never shown as current
    by_status = {m["status"]: m for m in memories(stack, who)}
    current, old = by_status["activated"], by_status["archived"]
    assert old["superseded_by"] == current["id"]
    assert current["history"] == [
        {
            "id": old["id"],
            "memory_value": old["memory_value"],
            "create_time": old["create_time"],
            "archived_time": old["update_time"],
        }
    ]
    assert old["sources"][0]["content"] == "我住在杭州，离西湖很近。"  # the fact is kept
    assert current["memory_type"] == "UserMemory"


def test_english_job_change(stack: Stack) -> None:
    who = user()
    say(stack, who, "c1", "I work as a nurse at the city hospital.")
    say(stack, who, "c2", "Big news: I now work as a high school teacher!")
    found = stack.search(who, "What is my job?")["memory_detail_list"]
    assert "teacher" in found[0]["memory_value"]
    assert all("nurse" not in m["memory_value"] for m in found)


def test_feedback_corrects_a_memory(stack: Stack) -> None:
    who = user()
    say(stack, who, "c", "我特别喜欢吃辣，无辣不欢。")
    data = stack.ok(
        "/add/feedback",
        {"user_id": who, "conversation_id": "c", "feedback_content": "我其实不喜欢吃辣，请记住。"},
    )
    assert stack.wait(data["task_id"]) == "completed"
    found = stack.search(who, "给我推荐几道菜")["memory_detail_list"]
    assert all("无辣不欢" not in m["memory_value"] for m in found)
    statuses = {m["memory_value"]: m["status"] for m in memories(stack, who)}
    assert statuses == {
        "[user观点]用户特别喜欢吃辣，无辣不欢。": "archived",
        "[user观点]用户其实不喜欢吃辣，请记住。": "activated",
    }


def test_unrelated_facts_are_all_kept(stack: Stack) -> None:
    who = user()
    facts = ["我住在成都。", "我喜欢爬山。", "我养了一只橘猫。", "我在一家银行工作。"]
    for number, fact in enumerate(facts):
        say(stack, who, f"c{number}", fact)
    assert {m["status"] for m in memories(stack, who)} == {"activated"}
    assert len(memories(stack, who)) == 4


def test_rerunning_a_job_that_archived_does_it_once(stack: Stack) -> None:
    who = user()
    say(stack, who, "c1", "我住在杭州。")
    task = say(stack, who, "c2", "我搬到了上海。")
    before = sorted((m["id"], m["status"]) for m in memories(stack, who))
    with stack.runtime.db.transaction() as session:  # a redelivered job
        session.get(Job, task).status = "running"
    assert Extractor(stack.runtime).run(task)
    after = sorted((m["id"], m["status"]) for m in memories(stack, who))
    assert after == before
    assert [
        "上海" in m["memory_value"] for m in stack.search(who, "住在哪里")["memory_detail_list"]
    ] == [True]


HANGZHOU = ("我住在杭州，离西湖很近。", "2025-01-05 10:00:00")
SHANGHAI = ("我上个月搬到了上海。", "2025-06-05 10:00:00")


def add_together(stack: Stack, who: str, facts: list[tuple[str, str]]) -> list[str]:
    """The adds sent at once, so their jobs are taken by the two worker threads together."""
    with ThreadPoolExecutor(len(facts)) as pool:
        return list(
            pool.map(
                lambda n: stack.add(
                    who,
                    f"c{n}",
                    [{"role": "user", "content": facts[n][0], "chat_time": facts[n][1]}],
                )["task_id"],
                range(len(facts)),
            )
        )


def homes(stack: Stack, who: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for memory in memories(stack, who):
        found.setdefault(memory["status"], []).append(memory["memory_value"])
    return found


def test_the_later_of_two_contradicting_facts_is_current_in_any_order(stack: Stack) -> None:
    """Jobs are retried and run in parallel: what was said last is current, whichever job
    ran last, and two jobs of one user running together still see each other."""
    late_first = user()
    say(stack, late_first, "c2", *SHANGHAI)
    say(stack, late_first, "c1", *HANGZHOU)  # a retried job of the older message
    by_status = {m["status"]: m for m in memories(stack, late_first)}
    assert "上海" in by_status["activated"]["memory_value"]
    assert "杭州" in by_status["archived"]["memory_value"]
    assert by_status["archived"]["superseded_by"] == by_status["activated"]["id"]
    assert (
        "上海"
        in stack.search(late_first, "我现在住在哪个城市？")["memory_detail_list"][0]["memory_value"]
    )
    for facts in [[HANGZHOU, SHANGHAI], [SHANGHAI, HANGZHOU]] * 3:
        who = user()
        tasks = add_together(stack, who, facts)
        assert [stack.wait(task) for task in tasks] == ["completed"] * 2
        assert homes(stack, who) == {
            "activated": ["[user观点]用户上个月（2025-05）搬到了上海。"],
            "archived": ["[user观点]用户住在杭州，离西湖很近。"],
        }


def test_an_update_keeps_the_other_facts_of_the_memory_it_outdates(stack: Stack) -> None:
    who = user()
    say(
        stack,
        who,
        "c1",
        "我每周大概跑四十公里，去年跑过一次半马，成绩是一小时五十分。",
        "2025-01-05",
    )
    say(stack, who, "c2", "膝盖好了，但现在每周只跑二十公里左右。", "2025-06-05")
    by_status: dict[str, list[dict]] = {}
    for m in memories(stack, who):
        by_status.setdefault(m["status"], []).append(m)
    (old,) = by_status["archived"]
    assert "四十公里" in old["memory_value"]
    current = {m["memory_value"]: m for m in by_status["activated"]}
    assert set(current) == {
        "[user观点]去年（2024年）跑过一次半马，成绩是一小时五十分。",
        "[user观点]膝盖好了，但现在每周只跑二十公里左右。",
    }
    assert old["superseded_by"] == current["[user观点]膝盖好了，但现在每周只跑二十公里左右。"]["id"]
    rest = current["[user观点]去年（2024年）跑过一次半马，成绩是一小时五十分。"]
    assert [s["content"] for s in rest["sources"]] == [old["sources"][0]["content"]]
    found = stack.search(who, "半马成绩是多少？")["memory_detail_list"]
    assert found[0]["id"] == rest["id"]
    assert all("四十公里" not in m["memory_value"] for m in found)
