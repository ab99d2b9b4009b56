"""Property tests: odd input never breaks the filter parser, the extractor or the word
index, and every validation failure becomes an envelope error."""

from datetime import date

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.extractor.dates import resolve_relative_times
from services.extractor.rules import extract_by_rules
from services.extractor.schemas import Turn
from services.gateway.messages.schemas import AddMessageRequest
from shared.errors import APIError, InvalidParameter
from shared.filters import parse_filter
from shared.http import error_from_validation
from shared.lexical import document_terms, query_terms
from shared.schemas import SearchMemoryRequest

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
fields = st.sampled_from(
    [
        "agent_id",
        "app_id",
        "info.lang",
        "tags",
        "create_time",
        "update_time",
        "and",
        "or",
        "user_id",
        "",
    ]
)
conditions = st.dictionaries(fields, json_values, min_size=0, max_size=2)
filters = st.one_of(
    json_values,
    st.dictionaries(
        st.sampled_from(["and", "or", "not"]), st.lists(conditions, max_size=4), max_size=2
    ),
)

# Text as users send it: emoji, mixed scripts, control characters, very long runs.
odd_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "\x00\x01\x02",
            "😀" * 50,
            "🇨🇳👨‍👩‍👧",
            "\u202e\u200b",
            "我" * 3000,
            "I " * 5000,
            "上周六 last Saturday 上周六 " * 100,
            "？？？",
            "对，对，对",
        ]
    ),
)


@given(filters)
@settings(max_examples=400, deadline=None)
def test_filter_parser_accepts_or_rejects_cleanly(raw) -> None:
    try:
        parsed = parse_filter(raw)
    except InvalidParameter as error:
        assert error.code == 40000 and "filter" in error.message
        return
    assert parsed is None or parsed.mode in ("and", "or") and parsed.conditions


@given(
    st.lists(
        st.tuples(st.sampled_from(["user", "assistant", "system", "tool"]), odd_text), max_size=6
    ),
    st.sampled_from([None, "2025-06-11 10:00:00", "not a time", "2025-13-45"]),
)
@settings(max_examples=200, deadline=None)
def test_rule_extractor_survives_odd_text(pairs, chat_time) -> None:
    turns = [Turn(f"m{i}", role, text, chat_time) for i, (role, text) in enumerate(pairs)]
    memories = extract_by_rules(turns)
    ids = {t.id for t in turns}
    for memory in memories:
        assert memory.value.strip() and memory.key.strip()
        assert memory.source_ids and set(memory.source_ids) <= ids
        assert 0 <= memory.confidence <= 1


def test_rule_extractor_on_100_kb() -> None:
    text = ("我在杭州工作，喜欢吃辣。I live in Berlin and love jazz. 😀\x07 " * 2000)[:100_000]
    memories = extract_by_rules([Turn("m0", "user", text, "2025-06-11 10:00:00")])
    assert [m.kind for m in memories] == ["fact", "explicit_preference"]  # said 2,000 times
    assert memories[1].value == "用户喜欢吃辣"
    assert all(m.source_ids == ["m0"] for m in memories)


@given(odd_text)
@settings(max_examples=200, deadline=None)
def test_word_index_and_dates_survive_odd_text(text) -> None:
    terms = document_terms(text)
    assert len(terms.indices) == len(terms.values) == len(set(terms.indices))
    assert all(0 <= i < 2**32 for i in terms.indices)
    query = query_terms(text)
    assert query.indices == sorted(set(query.indices)) and set(query.values) <= {1.0}
    for lang in ("zh", "en"):
        rewritten, dates = resolve_relative_times(text, date(2025, 6, 11), lang)
        assert len(rewritten) >= len(text)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "user_id",
                "conversation_id",
                "messages",
                "query",
                "memory_limit_number",
                "relativity",
                "filter",
                "async_mode",
                "asyncMode",
                "info",
                "tags",
            ]
        ),
        json_values,
        max_size=6,
    )
)
@settings(max_examples=300, deadline=None)
@pytest.mark.parametrize("model", [AddMessageRequest, SearchMemoryRequest])
def test_every_validation_failure_is_an_envelope_error(model, body) -> None:
    try:
        model.model_validate(body)
    except ValidationError as exc:
        error = error_from_validation(RequestValidationError(exc.errors()))
        assert isinstance(error, APIError)
        assert error.code in (40000, 40002, 40010, 40011) and error.http_status == 400
        assert error.message
