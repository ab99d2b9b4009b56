"""Every error code of API.md that the in-process stack can produce, each from a real request.
(50004 and 50005 need a broker or a retriever that is down: tests/e2e.)"""

import asyncio
import time
import uuid

import pytest

from shared.config import get_settings
from shared.errors import RateLimited
from shared.limits import make_rate_limiter
from tests.stack import GUIDE_MESSAGES, Stack

ADD = {"user_id": "u", "conversation_id": "c", "messages": GUIDE_MESSAGES}


def expect(response, http_status: int, code: int, mentions: str = "") -> None:
    assert response.status_code == http_status, response.text
    body = response.json()
    assert body["code"] == code and body["data"] is None, body
    assert mentions in body["message"], body["message"]


@pytest.mark.parametrize(("path", "body", "code", "mentions"), [
    ("/add/message", {**ADD, "messages": [{"role": "robot", "content": "x"}]}, 40000,
     "messages.0.role"),
    ("/add/message", {**ADD, "async_mode": "maybe"}, 40000, "async_mode"),
    ("/add/message", {**ADD, "info": {"nested": {"no": 1}}}, 40000, "info"),
    ("/add/message", [1, 2], 40000, "body"),
    ("/search/memory", {"user_id": "u", "query": "q", "memory_limit_number": 26}, 40000,
     "memory_limit_number"),
    ("/search/memory", {"user_id": "u", "query": "q", "relativity": 1.5}, 40000, "relativity"),
    ("/search/memory", {"user_id": "u", "query": "q", "filter": {}}, 40000, "filter"),
    ("/search/memory", {"user_id": "u", "query": "q",
                        "filter": {"and": [{"or": [{"agent_id": "a"}]}]}}, 40000, "nested"),
    ("/search/memory", {"user_id": "u", "query": "q", "filter": {"and": [{"color": "red"}]}},
     40000, "unknown field"),
    ("/get/memory", {"user_id": "u", "size": 51}, 40000, "size"),
    ("/get/memory", {"user_id": "u", "page": 2**63}, 40000, "page"),
    ("/get/message", {"user_id": "u", "conversation_id": "c", "message_limit_number": 2**63},
     40000, "message_limit_number"),
    ("/get/memory", {"user_id": "u", "filter": {"and": [{"tags": "x"}]}}, 40000, "tags"),
    ("/delete/memory", {}, 40000, "exactly one"),
    ("/delete/memory", {"user_id": "u", "memory_ids": ["m"]}, 40000, "exactly one"),
    ("/add/message", {"conversation_id": "c", "messages": GUIDE_MESSAGES}, 40002, "user_id"),
    ("/add/message", {**ADD, "user_id": ""}, 40002, "user_id"),
    ("/add/message", {**ADD, "user_id": None}, 40002, "user_id"),
    ("/add/message", {**ADD, "messages": []}, 40002, "messages"),
    ("/add/message", {**ADD, "messages": [{"role": "user", "content": ""}]}, 40002,
     "messages.0.content"),
    ("/search/memory", {"user_id": "u"}, 40002, "query"),
    ("/get/message", {"user_id": "u"}, 40002, "conversation_id"),
    ("/get/status", {}, 40002, "task_id"),
    ("/add/message", {**ADD, "user_id": "u" * 101}, 40010, "user_id"),
    ("/search/memory", {"user_id": "u" * 101, "query": "q"}, 40010, "user_id"),
    ("/add/message", {**ADD, "conversation_id": "c" * 101}, 40011, "conversation_id"),
    ("/get/message", {"user_id": "u", "conversation_id": "c" * 101}, 40011, "conversation_id"),
    ("/delete/memory", {"memory_ids": ["00000000-0000-0000-0000-000000000000"]}, 40307,
     "memory_ids"),
    ("/get/status", {"task_id": "no-such-task"}, 50131, "no-such-task"),
])
def test_bad_requests(stack: Stack, path: str, body: object, code: int, mentions: str) -> None:
    expect(stack.post(path, body), 404 if code in (40307, 50131) else 400, code, mentions)


def test_invalid_json_body(stack: Stack) -> None:
    response = stack.client.post("/api/openmem/v1/add/message", content=b"{not json",
                                 headers={"Authorization": f"Token {stack.key}",
                                          "Content-Type": "application/json"})
    expect(response, 400, 40000, "JSON")


def test_missing_and_invalid_keys(stack: Stack) -> None:
    expect(stack.post("/add/message", ADD, key=""), 401, 40100)
    expect(stack.client.post("/api/openmem/v1/add/message", json=ADD,
                             headers={"Authorization": "Token "}), 401, 40100)
    expect(stack.post("/add/message", ADD, key="mpg-not-a-key"), 401, 40132)


def test_revoked_key_stops_working(stack: Stack) -> None:
    from services.gateway.keys.service import key_cache, revoke_key
    from shared.db.session import new_session, transaction

    key = stack.new_key("revocation")
    stack.ok("/get/message", {"user_id": "u", "conversation_id": "c"}, key=key)
    with new_session() as session:
        from services.gateway.keys.repository import list_keys

        key_id = list_keys(session, "revocation")[0].id
    with transaction() as session:
        revoke_key(session, key_id)
    key_cache._entries.clear()  # what CACHE_SECONDS does on its own
    expect(stack.post("/get/message", {"user_id": "u", "conversation_id": "c"}, key=key), 401,
           40132)


def test_rate_limit_answers_429_with_retry_after(stack: Stack, monkeypatch) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "rate_limit_per_second", 0.5)
    monkeypatch.setattr(settings, "rate_limit_burst", 3)
    key = stack.new_key("rate-limited")
    body = {"user_id": "u", "conversation_id": "c"}
    for _ in range(3):
        stack.ok("/get/message", body, key=key)
    response = stack.post("/get/message", body, key=key)
    expect(response, 429, 40300, "rate limit")
    assert int(response.headers["Retry-After"]) >= 1
    stack.ok("/get/message", body)  # other keys are not affected


def test_gateways_share_each_keys_rate_limit(redis_url: str) -> None:
    """Two gateway processes' limiters on one Redis: the key's burst is spent once, not once
    per process, and its tokens come back at the key's rate."""
    async def scenario() -> list[bool]:
        gateways = [make_rate_limiter(redis_url), make_rate_limiter(redis_url)]
        key = f"key-{uuid.uuid4().hex[:8]}"
        passed = []
        for attempt in range(8):
            try:
                await gateways[attempt % 2].check(key, 20, 4)
                passed.append(True)
            except RateLimited as refused:
                assert refused.retry_after == 1
                passed.append(False)
        await asyncio.sleep(0.12)  # 2.4 tokens back at 20/s
        for gateway in gateways:
            await gateway.check(key, 20, 4)
        for gateway in gateways:
            await gateway.close()
        return passed

    assert asyncio.run(scenario()) == [True] * 4 + [False] * 4


def test_gateways_leasing_tokens_still_share_one_budget(redis_url: str) -> None:
    """At 200/s with a burst of 400, gateways take tokens 20 at a time: two of them flat out
    together get the burst once (less at most one lease left unspent), plus the refill."""
    async def scenario() -> tuple[int, float]:
        gateways = [make_rate_limiter(redis_url), make_rate_limiter(redis_url)]
        key = f"key-{uuid.uuid4().hex[:8]}"
        passed, started = 0, time.monotonic()
        for attempt in range(1200):
            try:
                await gateways[attempt % 2].check(key, 200, 400)
                passed += 1
            except RateLimited:
                pass
        elapsed = time.monotonic() - started
        for gateway in gateways:
            await gateway.close()
        return passed, elapsed

    passed, elapsed = asyncio.run(scenario())
    assert 400 - 20 <= passed <= 400 + 200 * elapsed + 1, (passed, elapsed)


def test_concurrent_requests_wait_for_one_lease(redis_url: str) -> None:
    """64 requests of one key at once on a gateway ask Redis for one lease at a time: had
    each taken its own 20 tokens, the burst of 400 would be gone before the 21st."""
    async def scenario() -> None:
        gateway = make_rate_limiter(redis_url)
        key = f"key-{uuid.uuid4().hex[:8]}"
        await asyncio.gather(*(gateway.check(key, 200, 400) for _ in range(64)))
        await gateway.close()

    asyncio.run(scenario())


def test_a_request_waiting_on_a_cancelled_lease_asks_again(redis_url: str) -> None:
    async def scenario() -> None:
        gateway = make_rate_limiter(redis_url)
        key = f"key-{uuid.uuid4().hex[:8]}"
        leader = asyncio.create_task(gateway.check(key, 200, 400))
        await asyncio.sleep(0)  # the leader now waits on Redis for the key's lease
        waiter = asyncio.create_task(gateway.check(key, 200, 400))
        await asyncio.sleep(0)
        leader.cancel()  # its client hung up
        await waiter
        assert leader.cancelled()
        await gateway.close()

    asyncio.run(scenario())


def test_embedded_rate_limit_counts_in_process() -> None:
    limiter = make_rate_limiter("redis+socket:///tmp/embedded.sock")

    async def scenario() -> None:
        for _ in range(2):
            await limiter.check("k", 1, 2)
        with pytest.raises(RateLimited):
            await limiter.check("k", 1, 2)
        await limiter.check("other", 1, 2)

    asyncio.run(scenario())


def test_size_limits(stack: Stack, monkeypatch) -> None:
    settings = get_settings()
    big = {**ADD, "messages": [{"role": "user", "content": "长" * 60_000}]}
    expect(stack.post("/add/message", big), 413, 40305, "characters")
    many = {**ADD, "messages": [{"role": "user", "content": "hi"}] * 501}
    expect(stack.post("/add/message", many), 413, 40305, "501 messages")
    expect(stack.post("/search/memory", {"user_id": "u", "query": "q" * 4001}), 413, 40305,
           "query")
    response = stack.client.post("/api/openmem/v1/add/message", content=b"x" * 2_000_001,
                                 headers={"Authorization": f"Token {stack.key}",
                                          "Content-Type": "application/json"})
    expect(response, 413, 40305, "bytes")
    assert settings.max_request_bytes == 2_000_000


def test_unknown_route_and_method_keep_the_envelope(stack: Stack) -> None:
    expect(stack.post("/no/such/route", {}), 404, 40000, "path")
    response = stack.client.get("/api/openmem/v1/add/message")
    assert response.status_code == 405 and response.json()["code"] == 40000


def test_nothing_is_written_by_a_rejected_add(stack: Stack) -> None:
    bad = {"user_id": "atomic", "conversation_id": "c",
           "messages": [{"role": "user", "content": "fine"}, {"role": "robot", "content": "x"}]}
    expect(stack.post("/add/message", bad), 400, 40000)
    assert stack.ok("/get/message", {"user_id": "atomic", "conversation_id": "c"})[
        "message_detail_list"] == []
