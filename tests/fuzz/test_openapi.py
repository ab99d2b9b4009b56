"""schemathesis against the service's own OpenAPI document, on `memos serve` as a process:
valid and invalid requests for every operation, with and without a key; whatever is sent,
no 5xx and no answer outside the {code, data, message} envelope."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.e2e.process import Service, run_service


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Service, str]]:
    data = tmp_path_factory.mktemp("fuzz") / "data"
    with run_service("serve", data, RATE_LIMIT_PER_SECOND="0", LOG_LEVEL="WARNING") as service:
        yield service, (Path(data) / "api-key").read_text().strip()


def operations(service: Service) -> list:
    schema = schemathesis.openapi.from_url(service.base + "/openapi.json")
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 7
    return found


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_5xx_and_always_the_envelope(served, mode: GenerationMode) -> None:
    service, key = served
    strategies = [operation.as_strategy(generation_mode=mode)
                  for operation in operations(service)]

    @given(case=st.one_of(strategies), authorised=st.booleans())
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)
    def check(case, authorised: bool) -> None:
        headers = {"Authorization": f"Token {key}"} if authorised else {}
        response = case.call(base_url=service.base, headers=headers, timeout=30)
        assert response.status_code < 500, (case.as_curl_command(), response.text[:500])
        body = response.json()
        assert set(body) == {"code", "data", "message"}, body
        assert isinstance(body["code"], int) and isinstance(body["message"], str)
        if response.status_code != 200:
            assert body["code"] != 0 and body["data"] is None, body

    check()
