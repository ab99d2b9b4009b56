import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.gateway.memories.schemas import DeleteMemoryRequest, GetMemoryRequest
from shared.errors import InvalidParameter
from shared.filters import MAX_CONDITIONS, MAX_EPOCH_MS, MIN_EPOCH_MS, Condition, parse_filter
from shared.http import error_from_validation
from shared.schemas import SearchMemoryRequest


def test_and_or_and_every_field() -> None:
    parsed = parse_filter(
        {
            "and": [
                {"agent_id": "a"},
                {"app_id": "b"},
                {"info.lang": "zh"},
                {"tags": {"contains": "x"}},
                {"create_time": {"gte": 5, "lt": "2025-01-02"}},
                {"update_time": {"gt": 1}},
            ]
        }
    )
    assert parsed.mode == "and"
    assert parsed.conditions[:4] == (
        Condition("agent_id", "eq", "a"),
        Condition("app_id", "eq", "b"),
        Condition("info.lang", "eq", "zh"),
        Condition("tags", "contains", "x"),
    )
    assert parsed.conditions[4:] == (
        Condition("create_time", "gte", 5),
        Condition("create_time", "lt", 1735776000000),
        Condition("update_time", "gt", 1),
    )
    assert parse_filter({"or": [{"agent_id": "a"}]}).mode == "or"
    assert parse_filter(None) is None


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"and": []},
        {"and": {}},
        {"not": [{"agent_id": "a"}]},
        {"and": [{"agent_id": "a"}], "or": [{"app_id": "b"}]},
        {"and": [{"and": [{"agent_id": "a"}]}]},
        {"and": [{"agent_id": {"eq": "a"}}]},
        {"and": [{"agent_id": "a", "app_id": "b"}]},
        {"and": [{"tags": {"has": "x"}}]},
        {"and": [{"create_time": {"around": 1}}]},
        {"and": [{"create_time": {"gt": "soon"}}]},
        {"and": [{"create_time": {"gt": True}}]},
        {"and": [{"info.": "x"}]},
        {"and": ["x"]},
        {"and": [{"user_id": "someone-else"}]},
    ],
)
def test_rejected_shapes(raw) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_filter(raw)
    assert caught.value.code == 40000 and "filter" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "mentions"),
    [
        ({"and": [{'info.a"b': "v"}]}, "info keys"),
        ({"and": [{"info.a\\b": "v"}]}, "info keys"),
        ({"and": [{"create_time": {"gt": 1e30}}]}, "create_time"),
        ({"and": [{"create_time": {"lt": -1e30}}]}, "create_time"),
        ({"and": [{"update_time": {"gte": 2**70}}]}, "update_time"),
        ({"and": [{"create_time": {"gt": float("inf")}}]}, "create_time"),
        ({"and": [{"create_time": {"gt": float("nan")}}]}, "create_time"),
        ({"and": [{"info.a": float("inf")}]}, "info.a"),
        ({"and": [{"info.a": float("nan")}]}, "info.a"),
        ({"and": [{"info.a": 2**63}]}, "info.a"),
        ({"and": [{"info.a": -(2**63) - 1}]}, "info.a"),
        ({"or": [{"agent_id": "a"}] * 101}, "limit is 100"),
        ({"and": [{"agent_id": 5}]}, "agent_id"),
        ({"and": [{"app_id": "a\x00b"}]}, "app_id"),
        ({"and": [{"info.a": "\ud800"}]}, "info.a"),
        ({"and": [{"info.\ud800": "v"}]}, "info.?"),
        ({"and": [{"tags": {"contains": "\x00"}}]}, "tags"),
    ],
)
def test_what_a_store_cannot_hold_is_refused_naming_the_field(raw, mentions: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_filter(raw)
    assert caught.value.code == 40000 and "filter" in caught.value.message
    assert mentions in caught.value.message
    caught.value.message.encode("utf-8")  # the envelope can carry it


def test_the_limits_themselves_are_accepted() -> None:
    assert len(parse_filter({"or": [{"agent_id": "a"}] * MAX_CONDITIONS}).conditions) == 100
    bounds = parse_filter(
        {
            "and": [
                {"create_time": {"gte": MIN_EPOCH_MS, "lte": MAX_EPOCH_MS}},
                {"create_time": {"lt": "9999-12-31 23:59:59"}},
            ]
        }
    )
    assert [c.value for c in bounds.conditions] == [MIN_EPOCH_MS, MAX_EPOCH_MS, 253402300799000]
    extremes = parse_filter(
        {"or": [{"info.a": 2**63 - 1}, {"info.a": -(2**63)}, {"info.a": 1.5}, {"info.a": True}]}
    )
    assert [c.value for c in extremes.conditions] == [2**63 - 1, -(2**63), 1.5, True]


def test_an_info_key_is_one_key_quoted_whole_for_qdrant() -> None:
    (cond,) = parse_filter({"and": [{"info.a.b c:$#": 1}]}).conditions
    assert cond.info_key == "a.b c:$#"
    assert cond.payload_key == 'info."a.b c:$#"'
    (plain,) = parse_filter({"and": [{"agent_id": "x"}]}).conditions
    assert plain.info_key is None and plain.payload_key == "agent_id"


def test_long_values_are_not_echoed_whole() -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_filter({"and": [{"x" * 100_000: 1}]})
    assert len(caught.value.message) < 200


@pytest.mark.parametrize("model", [SearchMemoryRequest, GetMemoryRequest, DeleteMemoryRequest])
def test_requests_refuse_a_bad_filter_before_it_is_forwarded(model) -> None:
    """A gateway forwards searches to a retriever as JSON: 2**63 would not even encode."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate({"user_id": "u", "query": "q", "filter": {"and": [{"info.A": 2**63}]}})
    error = error_from_validation(RequestValidationError(caught.value.errors()))
    assert error.code == 40000
    assert error.message == "parameter 'filter' 'info.A' takes integers of 64 bits at most"
    assert model.model_validate(
        {"user_id": "u", "query": "q", "filter": {"and": [{"info.a": 1}]}}
    ).filter == {"and": [{"info.a": 1}]}
