"""Every error code of API.md that the in-process stack can produce, each from a real request.
(50004 and 50005 need a broker or a retriever that is down: tests/e2e.)"""

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from shared.errors import RateLimited
from shared.limits import make_rate_limiter
from tests.stack import API, GUIDE_MESSAGES, Stack

ADD = {"user_id": "u", "conversation_id": "c", "messages": GUIDE_MESSAGES}


def expect(response, http_status: int, code: int, mentions: str = "") -> None:
    assert response.status_code == http_status, response.text
    body = response.json()
    assert body["code"] == code and body["data"] is None, body
    assert mentions in body["message"], body["message"]


@pytest.mark.parametrize(
    ("path", "body", "code", "mentions"),
    [
        (
            "/add/message",
            {**ADD, "messages": [{"role": "robot", "content": "x"}]},
            40000,
            "messages.0.role",
        ),
        ("/add/message", {**ADD, "async_mode": "maybe"}, 40000, "async_mode"),
        ("/add/message", {**ADD, "info": {"nested": {"no": 1}}}, 40000, "info"),
        ("/add/message", [1, 2], 40000, "body"),
        (
            "/search/memory",
            {"user_id": "u", "query": "q", "memory_limit_number": 26},
            40000,
            "memory_limit_number",
        ),
        ("/search/memory", {"user_id": "u", "query": "q", "relativity": 1.5}, 40000, "relativity"),
        ("/search/memory", {"user_id": "u", "query": "q", "filter": {}}, 40000, "filter"),
        (
            "/search/memory",
            {"user_id": "u", "query": "q", "filter": {"and": [{"or": [{"agent_id": "a"}]}]}},
            40000,
            "nested",
        ),
        (
            "/search/memory",
            {"user_id": "u", "query": "q", "filter": {"and": [{"color": "red"}]}},
            40000,
            "unknown field",
        ),
        ("/get/memory", {"user_id": "u", "size": 51}, 40000, "size"),
        ("/get/memory", {"user_id": "u", "page": 2**63}, 40000, "page"),
        (
            "/get/message",
            {"user_id": "u", "conversation_id": "c", "message_limit_number": 2**63},
            40000,
            "message_limit_number",
        ),
        ("/get/memory", {"user_id": "u", "filter": {"and": [{"tags": "x"}]}}, 40000, "tags"),
        ("/delete/memory", {}, 40000, "exactly one"),
        ("/delete/memory", {"user_id": "u", "memory_ids": ["m"]}, 40000, "exactly one"),
        ("/add/message", {"conversation_id": "c", "messages": GUIDE_MESSAGES}, 40002, "user_id"),
        ("/add/message", {**ADD, "user_id": ""}, 40002, "user_id"),
        ("/add/message", {**ADD, "user_id": None}, 40002, "user_id"),
        ("/add/message", {**ADD, "messages": []}, 40002, "messages"),
        (
            "/add/message",
            {**ADD, "messages": [{"role": "user", "content": ""}]},
            40002,
            "messages.0.content",
        ),
        ("/search/memory", {"user_id": "u"}, 40002, "query"),
        ("/get/message", {"user_id": "u"}, 40002, "conversation_id"),
        ("/get/status", {}, 40002, "task_id"),
        ("/add/message", {**ADD, "user_id": "u" * 101}, 40010, "user_id"),
        ("/search/memory", {"user_id": "u" * 101, "query": "q"}, 40010, "user_id"),
        ("/add/message", {**ADD, "conversation_id": "c" * 101}, 40011, "conversation_id"),
        ("/get/message", {"user_id": "u", "conversation_id": "c" * 101}, 40011, "conversation_id"),
        (
            "/delete/memory",
            {"memory_ids": ["00000000-0000-0000-0000-000000000000"]},
            40307,
            "memory_ids",
        ),
        ("/get/status", {"task_id": "no-such-task"}, 50131, "no-such-task"),
    ],
)
def test_bad_requests(stack: Stack, path: str, body: object, code: int, mentions: str) -> None:
    expect(stack.post(path, body), 404 if code in (40307, 50131) else 400, code, mentions)


def test_invalid_json_body(stack: Stack) -> None:
    response = stack.client.post(
        "/api/openmem/v1/add/message",
        content=b"{not json",
        headers={"Authorization": f"Token {stack.key}", "Content-Type": "application/json"},
    )
    expect(response, 400, 40000, "JSON")


def test_missing_and_invalid_keys(stack: Stack) -> None:
    expect(stack.post("/add/message", ADD, key=""), 401, 40100)
    expect(
        stack.client.post(
            "/api/openmem/v1/add/message", json=ADD, headers={"Authorization": "Token "}
        ),
        401,
        40100,
    )
    expect(stack.post("/add/message", ADD, key="mpg-not-a-key"), 401, 40132)


def test_revoked_key_stops_working(stack: Stack) -> None:
    from services.gateway.keys.repository import list_keys
    from services.gateway.keys.service import revoke_key

    key = stack.new_key("revocation")
    stack.ok("/get/message", {"user_id": "u", "conversation_id": "c"}, key=key)
    with stack.runtime.db.session() as session:
        key_id = list_keys(session, "revocation")[0].id
    with stack.runtime.db.transaction() as session:
        revoke_key(session, key_id)
    stack.gateway.keys._entries.clear()  # what CACHE_SECONDS does on its own
    expect(
        stack.post("/get/message", {"user_id": "u", "conversation_id": "c"}, key=key), 401, 40132
    )


def test_rate_limit_answers_429_with_retry_after(stack: Stack, monkeypatch) -> None:
    settings = stack.settings
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
    settings = stack.settings
    big = {**ADD, "messages": [{"role": "user", "content": "长" * 60_000}]}
    expect(stack.post("/add/message", big), 413, 40305, "characters")
    many = {**ADD, "messages": [{"role": "user", "content": "hi"}] * 501}
    expect(stack.post("/add/message", many), 413, 40305, "501 messages")
    expect(stack.post("/search/memory", {"user_id": "u", "query": "q" * 4001}), 413, 40305, "query")
    response = stack.client.post(
        "/api/openmem/v1/add/message",
        content=b"x" * 2_000_001,
        headers={"Authorization": f"Token {stack.key}", "Content-Type": "application/json"},
    )
    expect(response, 413, 40305, "bytes")
    assert settings.max_request_bytes == 2_000_000


def test_unknown_route_and_method_keep_the_envelope(stack: Stack) -> None:
    expect(stack.post("/no/such/route", {}), 404, 40000, "path")
    response = stack.client.get("/api/openmem/v1/add/message")
    assert response.status_code == 405 and response.json()["code"] == 40000


def test_nothing_is_written_by_a_rejected_add(stack: Stack) -> None:
    bad = {
        "user_id": "atomic",
        "conversation_id": "c",
        "messages": [{"role": "user", "content": "fine"}, {"role": "robot", "content": "x"}],
    }
    expect(stack.post("/add/message", bad), 400, 40000)
    assert (
        stack.ok("/get/message", {"user_id": "atomic", "conversation_id": "c"})[
            "message_detail_list"
        ]
        == []
    )


# Filters that once reached SQL or Qdrant and failed there with a 500. Sent as raw JSON
# text: Python's json module (which the service parses with) reads NaN and Infinity.
TWO_THOUSAND_CONDITIONS = '{"or": [' + ",".join(['{"agent_id": "a"}'] * 2000) + "]}"
BAD_FILTERS = [
    ('{"and": [{"info.a\\"b": "v"}]}', 'info.a"b'),
    ('{"and": [{"info.a\\\\b": "v"}]}', "info keys"),
    ('{"and": [{"create_time": {"gt": 1e30}}]}', "create_time"),
    ('{"and": [{"create_time": {"lt": -1e30}}]}', "create_time"),
    ('{"and": [{"update_time": {"gte": ' + str(2**70) + "}}]}", "update_time"),
    ('{"and": [{"create_time": {"gt": Infinity}}]}', "create_time"),
    ('{"and": [{"create_time": {"gt": NaN}}]}', "create_time"),
    ('{"and": [{"info.a": Infinity}]}', "info.a"),
    ('{"and": [{"info.a": -Infinity}]}', "info.a"),
    ('{"and": [{"info.a": NaN}]}', "info.a"),
    ('{"and": [{"info.a": ' + str(2**63) + "}]}", "info.a"),
    ('{"and": [{"info.a": ' + str(-(2**63) - 1) + "}]}", "info.a"),
    (TWO_THOUSAND_CONDITIONS, "limit is 100"),
    ('{"and": [{"agent_id": 5}]}', "agent_id"),
    ('{"and": [{"app_id": "a\\u0000b"}]}', "app_id"),
    ('{"and": [{"info.a": "\\ud800"}]}', "info.a"),
    ('{"and": [{"tags": {"contains": "\\u0000"}}]}', "tags"),
]
FILTERED_ROUTES = {
    "/search/memory": '{"user_id": "u", "query": "q", "filter": %s}',
    "/get/memory": '{"user_id": "u", "filter": %s}',
    "/delete/memory": '{"filter": %s}',
}


def post_text(stack: Stack, path: str, text: str | bytes):
    return stack.client.post(
        API + path,
        content=text,
        headers={"Authorization": f"Token {stack.key}", "Content-Type": "application/json"},
    )


@pytest.mark.parametrize("path", FILTERED_ROUTES)
@pytest.mark.parametrize(("flt", "mentions"), BAD_FILTERS)
def test_filters_the_stores_cannot_hold_are_40000(
    stack: Stack, path: str, flt: str, mentions: str
) -> None:
    response = post_text(stack, path, FILTERED_ROUTES[path] % flt)
    expect(response, 400, 40000, mentions)
    assert "filter" in response.json()["message"]


def test_a_hundred_conditions_compile_in_both_stores(stack: Stack) -> None:
    """At the limit, of the kind that nests deepest in SQL: 400 time bounds in an `or`."""
    bounds = {"gt": 0, "gte": 1, "lt": 2, "lte": 3}
    flt = {"or": [{"create_time": bounds}] * 99 + [{"info.first name": "x"}]}
    assert stack.ok("/get/memory", {"user_id": "nobody", "filter": flt})["total"] == 0
    assert stack.search("nobody", "q", filter=flt)["memory_detail_list"] == []
    assert stack.ok("/delete/memory", {"filter": flt}) == {"success": True}


AWKWARD_KEYS = ["first name", "a:b", "a#b", "$.x", "a.b", "a[0]", "语言", "it's", " "]


def test_any_info_key_filters_alike_in_search_get_and_delete(stack: Stack) -> None:
    """Keys with spaces, colons, '#', '$.', dots, brackets or Chinese: each one key of
    `info`, found by search (Qdrant) and get (SQL) alike, and deleted by a delete."""
    user = f"keys-{uuid.uuid4().hex[:8]}"
    info = {key: f"v-{i}" for i, key in enumerate(AWKWARD_KEYS)} | {"n": 7}
    stack.wait(stack.add(user, "c", GUIDE_MESSAGES, info=info)["task_id"])
    stack.wait(
        stack.add(user, "c2", [{"role": "user", "content": "我周末去爬黄山。"}], info={"n": 7.0})[
            "task_id"
        ]
    )
    memories = stack.ok("/get/memory", {"user_id": user})["memory_detail_list"]
    memory_ids = {m["id"] for m in memories if m["info"].get("first name")}
    seven_ids = {m["id"] for m in memories if "n" in m["info"]}
    assert memory_ids and seven_ids > memory_ids
    cases = (
        [(key, value, memory_ids) for key, value in info.items() if key != "n"]
        + [(key, "other", set()) for key in info]
        + [
            ("n", 7, seven_ids),
            ("n", 7.0, seven_ids),
            ("n", "7", set()),
            ("n", 7.5, set()),
            ("n", True, set()),
            ("first name", 1, set()),
        ]
    )
    for key, wanted, found in cases:
        flt = {"and": [{f"info.{key}": wanted}]}
        got = {
            m["id"]
            for m in stack.ok("/get/memory", {"user_id": user, "filter": flt})["memory_detail_list"]
        }
        searched = {
            m["id"]
            for m in stack.search(user, "全家出游", filter=flt, memory_limit_number=25)[
                "memory_detail_list"
            ]
        }
        assert got == searched == found, (key, wanted, got, searched)
    assert stack.ok("/delete/memory", {"filter": {"and": [{"info.first name": "v-0"}]}}) == {
        "success": True
    }
    left = stack.ok("/get/memory", {"user_id": user})["memory_detail_list"]
    assert left and not {m["id"] for m in left} & memory_ids
    assert (
        not {
            m["id"]
            for m in stack.search(user, "全家出游", memory_limit_number=25)["memory_detail_list"]
        }
        & memory_ids
    )


def test_unreadable_bodies_are_40000(stack: Stack) -> None:
    expect(
        post_text(stack, "/search/memory", b'{"user_id": "u", "query": "\xff\xfe"}'),
        400,
        40000,
        "UTF-8",
    )
    deep = '{"user_id": "u", "query": "q", "filter": ' + "[" * 5000 + "]" * 5000 + "}"
    expect(post_text(stack, "/search/memory", deep), 400, 40000, "nested")


def test_long_input_is_not_echoed_whole(stack: Stack) -> None:
    response = stack.post("/get/status", {"task_id": "t" * 100_000})
    expect(response, 400, 40000, "task_id")
    assert len(response.text) < 1000
    response = stack.post("/delete/memory", {"memory_ids": ["m" * 100_000] * 5})
    expect(response, 404, 40307, "memory_ids")
    assert len(response.text) < 1000
    response = stack.post("/get/memory", {"user_id": "u", "filter": {"and": [{"x" * 100_000: 1}]}})
    expect(response, 400, 40000, "unknown field")
    assert len(response.text) < 1000


@contextmanager
def served(app) -> Iterator[str]:
    """The app behind a real uvicorn on a free port of 127.0.0.1 (keep-alive as clients
    see it; the TestClient has no connections)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="critical")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_an_internal_error_answers_50000_and_keeps_the_connection(
    stack: Stack, monkeypatch
) -> None:
    def index_down(*_args, **_kwargs):
        raise RuntimeError("the index is down")

    monkeypatch.setattr(stack.runtime.index, "query", index_down)
    with (
        served(stack.client.app) as base,
        httpx.Client(
            base_url=base + API, headers={"Authorization": f"Token {stack.key}"}
        ) as client,
    ):
        failed = client.post("/search/memory", json={"user_id": "u", "query": "q"})
        expect(failed, 500, 50000, "internal error")
        assert "the index is down" not in failed.text
        assert failed.headers.get("connection", "").lower() != "close"
        first = failed.extensions["network_stream"].get_extra_info("client_addr")
        fine = client.post("/get/memory", json={"user_id": "u"})
        assert fine.status_code == 200, fine.text
        # The same connection answered both (httpx opens a new one for a closed one).
        assert fine.extensions["network_stream"].get_extra_info("client_addr") == first
