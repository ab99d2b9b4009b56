"""Consolidation decisions: by rules, and by an LLM on a local OpenAI-compatible endpoint."""

import json

import numpy as np
import pytest

from services.extractor.consolidation import (
    Neighbour,
    decide,
    decide_by_rules,
    same_details,
)
from services.extractor.profile import attributes, contradicts, is_profile_fact
from shared.db.models import Memory
from tests.fake_llm import FakeLLM


def memory(value: str, memory_id: str = "new") -> Memory:
    return Memory(id=memory_id, memory_value=value, memory_type="WorkingMemory")


def near(value: str, cosine: float, memory_id: str = "old") -> Neighbour:
    return Neighbour(memory(value, memory_id), cosine, np.zeros(3, dtype=np.float32))


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
    assert decide_by_rules(new, "user", [near("[user观点]用户搬到了上海。", 0.99)]).relation == (
        "duplicate")
    update = decide_by_rules(new, "user", [near("[user观点]用户住在杭州。", 0.86)])
    assert (update.relation, update.target.memory.id, update.memory_type) == (
        "update", "old", "UserMemory")
    assert decide_by_rules(new, "user", [near("[user观点]用户喜欢爬山。", 0.85)]).relation == "new"
    assert decide_by_rules(memory("[assistant观点]助手会推荐上海的餐厅。"), "assistant",
                           []).memory_type == "WorkingMemory"


def test_llm_decides_when_configured(llm: FakeLLM) -> None:
    llm.replies.append(json.dumps({"decisions": [
        {"new": 0, "relation": "update", "existing": "old", "memory_type": "UserMemory"}]}))
    new = memory("[user's view] The user went with the Galaxy S24.")
    (decision,) = decide([new], ["user"], [[near("[user's view] The user has a Pixel 6.", 0.65)]])
    assert (decision.relation, decision.target.memory.id, decision.memory_type) == (
        "update", "old", "UserMemory")
    prompt = llm.requests[0]["messages"][0]["content"]
    assert "id old: [user's view] The user has a Pixel 6." in prompt


@pytest.mark.parametrize("reply", [
    "not json",
    json.dumps({"decisions": [{"new": 0, "relation": "merge", "memory_type": "UserMemory"}]}),
    json.dumps({"decisions": [{"new": 0, "relation": "update", "existing": "made-up-id",
                               "memory_type": "UserMemory"}]}),
])
def test_bad_llm_decisions_fall_back_to_the_rules(llm: FakeLLM, reply: str) -> None:
    llm.replies.append(reply)
    new = memory("[user观点]用户搬到了上海。")
    (decision,) = decide([new], ["user"], [[near("[user观点]用户住在杭州。", 0.86)]])
    assert decision.relation == "update" and decision.target.memory.id == "old"


def test_clauses_about_someone_else_are_not_the_users_attributes() -> None:
    assert attributes("[user观点]用户带女儿去了动物园；她说长大要当动物饲养员") == {}
    assert attributes("[user's view] The user's wife works as a nurse.") == {}
    assert attributes("[user观点]用户的女儿喜欢画画") == {}
