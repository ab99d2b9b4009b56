"""schemathesis against the service's own OpenAPI document, on `memos serve` as a process:
valid and invalid requests for every operation, with and without a key; whatever is sent,
no 5xx (but chat's documented 501: this service has no LLM) and no answer outside the
{code, data, message} envelope."""

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.e2e.process import Service, run_service


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Service, str]]:
    data = tmp_path_factory.mktemp("fuzz") / "data"
    with run_service(
        "serve", data, RATE_LIMIT_PER_SECOND="0", AUTH_FAILURES_PER_SECOND="0", LOG_LEVEL="WARNING"
    ) as service:
        yield service, (Path(data) / "api-key").read_text().strip()


def operations(service: Service) -> list:
    schema = schemathesis.openapi.from_url(service.base + "/openapi.json")
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 7
    return found


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_5xx_and_always_the_envelope(served, mode: GenerationMode) -> None:
    service, key = served
    strategies = [operation.as_strategy(generation_mode=mode) for operation in operations(service)]

    @given(case=st.one_of(strategies), authorised=st.booleans())
    @settings(
        max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case, authorised: bool) -> None:
        headers = {"Authorization": f"Token {key}"} if authorised else {}
        response = case.call(base_url=service.base, headers=headers, timeout=30)
        body = response.json()
        # The one 5xx by design: chat on a service without an LLM (501, code 50007).
        assert response.status_code < 500 or (response.status_code, body["code"]) == (
            501,
            50007,
        ), (case.as_curl_command(), response.text[:500])
        assert set(body) == {"code", "data", "message"}, body
        assert isinstance(body["code"], int) and isinstance(body["message"], str)
        if response.status_code != 200:
            assert body["code"] != 0 and body["data"] is None, body

    check()


# Filters of every shape the parser takes, with the keys and values that once reached SQL or
# Qdrant and failed there: odd characters in info keys, numbers past what either store
# holds, NaN and infinities (Python's json reads them), NUL, lone surrogates, long `or`s.
awkward_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["first name", "a:b", "#", '"', "\\", "$.", "a.b", "[0]", "\x00", "\ud800", "语言", "*"]
    ),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=2**62),
    st.floats(),
    st.sampled_from([2**63, -(2**63) - 1, 2**70, 1e30, -1e30]),
)
scalars = st.one_of(awkward_text, numbers, st.booleans(), st.none())
conditions = st.one_of(
    st.builds(lambda key, value: {f"info.{key}": value}, awkward_text, scalars),
    st.builds(
        lambda field, value: {field: value}, st.sampled_from(["agent_id", "app_id"]), scalars
    ),
    st.builds(lambda value: {"tags": {"contains": value}}, awkward_text),
    st.builds(
        lambda field, bounds: {field: bounds},
        st.sampled_from(["create_time", "update_time"]),
        st.dictionaries(
            st.sampled_from(["gt", "gte", "lt", "lte"]),
            st.one_of(numbers, awkward_text),
            min_size=1,
        ),
    ),
)
filters = st.builds(
    lambda mode, items, copies: {mode: items * copies},
    st.sampled_from(["and", "or"]),
    st.lists(conditions, min_size=1, max_size=4),
    st.sampled_from([1, 1, 1, 30, 600]),
)
FILTERED = {
    "/search/memory": {"user_id": "u", "query": "q"},
    "/get/memory": {"user_id": "u"},
    "/delete/memory": {},
}


def test_no_filter_earns_a_5xx_or_loses_the_connection(served) -> None:
    """Every answer on one keep-alive connection: an error answer leaves it usable."""
    service, key = served
    with httpx.Client(
        base_url=service.api,
        timeout=30,
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
    ) as client:
        addresses = set()

        @given(path=st.sampled_from(sorted(FILTERED)), flt=filters)
        @settings(
            max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(path: str, flt: dict) -> None:
            body = json.dumps({**FILTERED[path], "filter": flt})  # NaN as NaN, \ud800 escaped
            response = client.post(path, content=body)
            assert response.status_code < 500, (path, body[:300], response.text[:300])
            envelope = response.json()
            assert set(envelope) == {"code", "data", "message"}, envelope
            assert response.status_code == 200 or envelope["code"] == 40000, envelope
            addresses.add(response.extensions["network_stream"].get_extra_info("client_addr"))

        check()
        assert len(addresses) == 1, addresses
