"""Consolidation decisions: by rules, and by an LLM on a local OpenAI-compatible endpoint."""

import json

import numpy as np
import pytest

from services.extractor.consolidation import (
    CosineLevels,
    Neighbour,
    decide,
    decide_by_rules,
    said_at,
    same_details,
)
from services.extractor.profile import attributes, contradicts, is_profile_fact, remainder
from shared.db.models import Memory, MemorySource, Message
from shared.embeddings.e5 import E5Embedder
from tests.fake_llm import FakeLLM

E5 = CosineLevels(E5Embedder.floor, E5Embedder.duplicate)
JANUARY = Message(id="m-january", chat_time="2025-01-05 10:00:00", create_time=1)
JUNE = Message(id="m-june", chat_time="2025-06-05 10:00:00", create_time=1)


def memory(value: str, memory_id: str = "new", said: Message = JUNE) -> Memory:
    return Memory(
        id=memory_id,
        memory_value=value,
        memory_type="WorkingMemory",
        sources=[MemorySource(memory_id=memory_id, message_id=said.id, message=said)],
    )


def near(value: str, cosine: float, memory_id: str = "old", said: Message = JANUARY) -> Neighbour:
    return Neighbour(memory(value, memory_id, said), cosine, np.zeros(3, dtype=np.float32))


def test_attributes_and_contradictions() -> None:
    assert attributes("[user观点]用户搬到了上海。") == {"residence": "上海"}
    assert attributes("[user's view] The user works as a nurse.") == {"job": "nurse"}
    assert attributes("[user观点]用户换到腾讯工作了") == {"job": "腾讯"}
    assert attributes("[user观点]用户不喜欢吃辣") == {"likes:吃辣": "no"}
    assert contradicts("[user观点]用户搬到了上海。", "[user观点]用户住在杭州。")
    assert not contradicts("[user观点]用户住在杭州西湖边。", "[user观点]用户住在杭州西湖边。")
    assert not contradicts("[user观点]用户喜欢爬山。", "[user观点]用户喜欢游泳。")
    assert is_profile_fact("[user观点]用户的女儿六岁。")
    assert not is_profile_fact("[user观点]用户今天下午去了超市。")


def test_duplicates_need_the_same_numbers_and_words() -> None:
    assert same_details("用户爱喝不加糖的美式咖啡", "用户喜欢喝美式咖啡，不加糖")
    assert not same_details("用户收藏了第1本小说", "用户收藏了第2本小说")


def test_rules_merge_update_or_add() -> None:
    new = memory("[user观点]用户搬到了上海。")
    assert decide_by_rules(
        new, "user", [near("[user观点]用户搬到了上海。", 0.99)], E5
    ).relation == ("duplicate")
    update = decide_by_rules(new, "user", [near("[user观点]用户住在杭州。", 0.86)], E5)
    assert (update.relation, update.target.memory.id, update.memory_type) == (
        "update",
        "old",
        "UserMemory",
    )
    assert (
        decide_by_rules(new, "user", [near("[user观点]用户喜欢爬山。", 0.85)], E5).relation == "new"
    )
    assert (
        decide_by_rules(
            memory("[assistant观点]助手会推荐上海的餐厅。"), "assistant", [], E5
        ).memory_type
        == "WorkingMemory"
    )


def test_llm_decides_when_configured(llm: FakeLLM) -> None:
    llm.replies.append(
        json.dumps(
            {
                "decisions": [
                    {"new": 0, "relation": "update", "existing": "old", "memory_type": "UserMemory"}
                ]
            }
        )
    )
    new = memory("[user's view] The user went with the Galaxy S24.")
    (decision,) = decide(
        [new], ["user"], [[near("[user's view] The user has a Pixel 6.", 0.65)]], {}, llm.client, E5
    )
    assert (decision.relation, decision.target.memory.id, decision.memory_type) == (
        "update",
        "old",
        "UserMemory",
    )
    prompt = llm.requests[0]["messages"][0]["content"]
    assert "id old: [user's view] The user has a Pixel 6." in prompt


@pytest.mark.parametrize(
    "reply",
    [
        "not json",
        json.dumps({"decisions": [{"new": 0, "relation": "merge", "memory_type": "UserMemory"}]}),
        json.dumps(
            {
                "decisions": [
                    {
                        "new": 0,
                        "relation": "update",
                        "existing": "made-up-id",
                        "memory_type": "UserMemory",
                    }
                ]
            }
        ),
    ],
)
def test_bad_llm_decisions_fall_back_to_the_rules(llm: FakeLLM, reply: str) -> None:
    llm.replies.append(reply)
    new = memory("[user观点]用户搬到了上海。")
    (decision,) = decide(
        [new], ["user"], [[near("[user观点]用户住在杭州。", 0.86)]], {}, llm.client, E5
    )
    assert decision.relation == "update" and decision.target.memory.id == "old"


def test_the_later_statement_is_current_whichever_job_runs_last() -> None:
    old_home, new_home = "[user观点]用户住在杭州。", "[user观点]用户搬到了上海。"
    (late,) = decide(
        [memory(new_home, said=JUNE)],
        ["user"],
        [[near(old_home, 0.86, said=JANUARY)]],
        {},
        None,
        E5,
    )
    assert (late.relation, late.target.memory.id) == ("update", "old")
    # The January statement's job runs after June's (a retry): it is the history.
    january = memory(old_home, said=Message(id="m-january", chat_time=None, create_time=0))
    (early,) = decide(
        [january],
        ["user"],
        [[near(new_home, 0.86, said=JUNE)]],
        {"m-january": JANUARY},
        None,
        E5,
    )  # the job's own messages, by id
    assert (early.relation, early.target.memory.id) == ("superseded", "old")


def test_a_message_is_dated_by_its_chat_time_else_by_its_arrival() -> None:
    assert said_at(JUNE) == 1749117600000
    assert said_at(Message(chat_time="2025/06/05", create_time=7)) == 1749081600000
    assert said_at(Message(chat_time=None, create_time=7)) == 7
    assert said_at(Message(chat_time="around noon", create_time=7)) == 7


def test_clauses_about_someone_else_are_not_the_users_attributes() -> None:
    assert attributes("[user观点]用户带女儿去了动物园；她说长大要当动物饲养员") == {}
    assert attributes("[user's view] The user's wife works as a nurse.") == {}
    assert attributes("[user观点]用户的女儿喜欢画画") == {}


def test_amounts_per_period_are_attributes() -> None:
    assert attributes("[user观点]用户每周大概跑四十公里") == {"rate:week:公里": "四十"}
    assert attributes("The user drinks four espressos a day.") == {"rate:day:espresso": "4"}
    assert attributes("The user charges £300 a day.") == {"rate:day:money": "£300"}
    assert attributes("The user raised the day rate to £400.") == {"rate:day:money": "£400"}
    assert contradicts("现在每周只跑二十公里左右", "每周大概跑四十公里，去年跑过一次半马")
    assert contradicts("The user cut down to one espresso a day.", "I drink four espressos a day")
    assert not contradicts("The user runs 5 km a day.", "The user drinks 2 coffees a day.")
    assert attributes("她每天练琴一小时") == {}


def test_a_newer_statement_that_calls_off_an_older_one_contradicts_it() -> None:
    assert contradicts("今年暑假不去日本了，改成国庆去新疆自驾。", "用户打算今年暑假去日本玩")
    assert contradicts("The family finally retired the Odyssey.", "They drive a Honda Odyssey.")
    assert contradicts("Change of plans, the barn fell through.", "A wedding at a barn venue.")
    assert not contradicts("不怎么加班了，每天六点能下班", "用户在互联网公司做产品经理，平时加班多")
    assert not contradicts("The user sold the bike.", "The user bought a new phone.")


def test_english_residence_is_the_capitalised_place() -> None:
    assert attributes("The user lives alone in a small apartment in Seattle.") == {
        "residence": "seattle"
    }
    assert contradicts(
        "The user moved into a new place in Denver two days ago.",
        "The user lives alone in a small apartment in Seattle.",
    )


def test_what_an_update_leaves_of_the_memory_it_outdates() -> None:
    assert (
        remainder(
            "现在每周只跑二十公里",
            "[user观点]每周大概跑四十公里，去年跑过一次半马，成绩是一小时五十分。",
        )
        == "[user观点]去年跑过一次半马，成绩是一小时五十分。"
    )
    assert (
        remainder(
            "The user raised the day rate to £400.",
            "The user charges £300 a day, and a logo usually takes the user about 3.5 days.",
        )
        == "A logo usually takes the user about 3.5 days."
    )
    assert remainder("我搬到了上海。", "我住在杭州，离西湖很近。") is None  # too little left
    assert remainder("我搬到了上海。", "我喜欢爬山，周末常去。") is None  # nothing outdated
