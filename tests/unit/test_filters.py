import pytest

from shared.errors import InvalidParameter
from shared.filters import Condition, parse_filter


def test_and_or_and_every_field() -> None:
    parsed = parse_filter({"and": [
        {"agent_id": "a"}, {"app_id": "b"}, {"info.lang": "zh"}, {"tags": {"contains": "x"}},
        {"create_time": {"gte": 5, "lt": "2025-01-02"}}, {"update_time": {"gt": 1}}]})
    assert parsed.mode == "and"
    assert parsed.conditions[:4] == (Condition("agent_id", "eq", "a"),
                                     Condition("app_id", "eq", "b"),
                                     Condition("info.lang", "eq", "zh"),
                                     Condition("tags", "contains", "x"))
    assert parsed.conditions[4:] == (Condition("create_time", "gte", 5),
                                     Condition("create_time", "lt", 1735776000000),
                                     Condition("update_time", "gt", 1))
    assert parse_filter({"or": [{"agent_id": "a"}]}).mode == "or"
    assert parse_filter(None) is None


@pytest.mark.parametrize("raw", [
    {}, {"and": []}, {"and": {}}, {"not": [{"agent_id": "a"}]},
    {"and": [{"agent_id": "a"}], "or": [{"app_id": "b"}]},
    {"and": [{"and": [{"agent_id": "a"}]}]}, {"and": [{"agent_id": {"eq": "a"}}]},
    {"and": [{"agent_id": "a", "app_id": "b"}]}, {"and": [{"tags": {"has": "x"}}]},
    {"and": [{"create_time": {"around": 1}}]}, {"and": [{"create_time": {"gt": "soon"}}]},
    {"and": [{"create_time": {"gt": True}}]}, {"and": [{"info.": "x"}]}, {"and": ["x"]},
    {"and": [{"user_id": "someone-else"}]},
])
def test_rejected_shapes(raw) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_filter(raw)
    assert caught.value.code == 40000 and "filter" in caught.value.message
