"""The MCP server (services/gateway/mcp/server.py) driven by the official SDK's client, over both
transports, against `memos serve` running as a real process: streamable HTTP at its /mcp,
and stdio by spawning `memos mcp`, calling that service, and once in-process over a data dir
of its own."""

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamablehttp_client

from tests.e2e.process import MEMOS, Service, post, run_service
from tests.stack import GUIDE_MESSAGES

TOOLS = {
    "remember",
    "recall",
    "get_conversation",
    "list_memories",
    "update_memory",
    "forget",
    "erase_user",
}
ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, str]]:
    data = tmp_path_factory.mktemp("mcp") / "data"
    with run_service("serve", data) as service:
        yield service, (data / "api-key").read_text().strip()


@asynccontextmanager
async def http_session(url: str, headers: dict[str, str]) -> AsyncIterator[ClientSession]:
    async with (
        streamablehttp_client(url, headers=headers) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def stdio_session(env: dict[str, str], log: Path) -> AsyncIterator[ClientSession]:
    """`memos mcp` as a child process; what it writes to stderr goes to `log`."""
    params = StdioServerParameters(
        command=MEMOS,
        args=["mcp"],
        env={"LOG_LEVEL": "INFO", "PATH": os.environ.get("PATH", ""), **env},
        cwd=log.parent,
    )
    with log.open("w") as errors:
        async with (
            stdio_client(params, errlog=errors) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.isError, result.content
    text = result.content[0].text
    answer: dict[str, Any] = json.loads(text)
    assert result.structuredContent == answer
    return answer


async def refused(session: ClientSession, tool: str, **arguments: Any) -> str:
    """The text of the MCP error result the call gets."""
    result = await session.call_tool(tool, arguments)
    assert result.isError, result.content
    return str(result.content[0].text)


async def every_tool(session: ClientSession, other_user: str) -> None:
    """Each tool, for the server's default user (and `other_user`, named), checked by what
    the others then see."""
    listed = (await session.list_tools()).tools
    assert {tool.name for tool in listed} == TOOLS
    remember = next(tool for tool in listed if tool.name == "remember")
    assert "description" in remember.inputSchema["properties"]["fact"]
    assert remember.description and "user said" in remember.description

    added = await call(
        session, "remember", fact="I am allergic to peanuts.", tags=["health"], wait=True
    )
    assert added["status"] == "completed" and added["task_id"]
    trip = await call(
        session,
        "remember",
        messages=GUIDE_MESSAGES,
        conversation_id="trip",
        tags=["travel"],
        wait=True,
    )
    assert trip["status"] == "completed" and trip["task_id"] != added["task_id"]
    other = await call(
        session,
        "remember",
        user_id=other_user,
        fact="I am allergic to peanuts.",
        tags=["travel"],
        wait=True,
    )
    assert other["status"] == "completed"

    found = await call(session, "recall", query="peanut allergy", include_instruction=True)
    first = found["memories"][0]
    assert first["memory_value"] == "The user is allergic to peanuts."
    assert 0 < first["relativity"] <= 1 and first["memory_type"] and first["create_time"] > 0
    assert set(first) == {"id", "memory_value", "relativity", "memory_type", "create_time"}
    assert "peanuts" in found["instruction"]
    peanut = first["id"]
    travel = await call(session, "recall", query="国庆去哪玩", conversation_id="trip", limit=1)
    (family,) = travel["memories"]
    assert "暑假" in family["memory_value"] and "全家" in family["memory_value"]
    assert "用户一般都是全家行动" in [p["preference"] for p in travel["preferences"]]
    assert all(0 <= p["relativity"] <= 1 for p in travel["preferences"])
    assert "instruction" not in travel

    page = await call(session, "list_memories")
    assert page["total"] == 2 and page["page"] == 1 and page["pages"] == 1
    assert {m["id"] for m in page["memories"]} == {peanut, family["id"]}
    assert "用户一般都是全家行动" in [p["preference"] for p in page["preferences"]]
    tagged = await call(
        session, "list_memories", filter={"and": [{"tags": {"contains": "health"}}]}, size=5
    )
    assert [m["id"] for m in tagged["memories"]] == [peanut] and tagged["total"] == 1

    said = await call(session, "get_conversation", conversation_id="trip")
    assert [(m["role"], m["content"]) for m in said["messages"]] == [
        (m["role"], m["content"]) for m in GUIDE_MESSAGES
    ]
    last = await call(session, "get_conversation", conversation_id="trip", limit=2)
    assert [m["content"] for m in last["messages"]] == [m["content"] for m in GUIDE_MESSAGES[-2:]]
    (fact,) = (await call(session, "get_conversation"))["messages"]  # conversation "mcp"
    assert (fact["role"], fact["content"]) == ("user", "I am allergic to peanuts.")

    edited = await call(
        session,
        "update_memory",
        memory_id=peanut,
        content="The user is allergic to peanuts and shellfish.",
        title="allergies",
    )
    assert edited["task_id"] and edited["memory"]["id"] == peanut
    assert edited["memory"]["memory_value"] == "The user is allergic to peanuts and shellfish."
    now = await call(session, "list_memories", filter={"and": [{"tags": {"contains": "health"}}]})
    current = next(m for m in now["memories"] if m["id"] == peanut)
    assert (current["title"], current["memory_value"]) == (
        "allergies",
        "The user is allergic to peanuts and shellfish.",
    )

    # Errors come back as MCP error results carrying the API's code and message.
    assert "40307" in await refused(
        session, "update_memory", memory_id="no-such-memory", content="x"
    )
    assert "40000" in await refused(session, "forget", filter={"and": [{"colour": "red"}]})
    assert "40000" in await refused(session, "list_memories", filter={"or": "x"})
    assert "exactly one" in await refused(session, "forget")

    # Calls issued together on one session all get their own answers.
    answers = await asyncio.gather(
        call(session, "recall", query="peanut allergy"),
        call(session, "recall", query="国庆去哪玩"),
        call(session, "list_memories"),
        call(session, "get_conversation", conversation_id="trip"),
        call(session, "list_memories", user_id=other_user),
        call(session, "recall", query="allergy", user_id=other_user),
    )
    assert answers[0]["memories"][0]["id"] == peanut
    assert "全家" in answers[1]["memories"][0]["memory_value"]
    assert {m["id"] for m in answers[2]["memories"]} >= {peanut, family["id"]}
    assert len(answers[3]["messages"]) == 6
    assert answers[4]["total"] == 1
    theirs = answers[5]["memories"][0]
    assert theirs["memory_value"] == "The user is allergic to peanuts." and theirs["id"] != peanut

    gone = await call(session, "forget", memory_ids=[peanut])
    assert gone["deleted"] == [peanut]
    left = await call(session, "list_memories")
    assert peanut not in [m["id"] for m in left["memories"]]  # its archived version too
    assert [m["id"] for m in left["memories"]] == [family["id"]]
    # By a filter: the user's memories only, though the other user's match it too.
    by_tag = await call(session, "forget", filter={"and": [{"tags": {"contains": "travel"}}]})
    assert family["id"] in by_tag["deleted"] and len(by_tag["deleted"]) == 2  # and preference
    assert (await call(session, "list_memories"))["total"] == 0
    assert (await call(session, "list_memories", user_id=other_user))["total"] == 1
    assert (await call(session, "recall", query="国庆去哪玩"))["memories"] == []

    erased = await call(session, "erase_user")
    assert erased["messages"] == 7 and erased["jobs"] >= 2
    assert (await call(session, "get_conversation", conversation_id="trip"))["messages"] == []
    assert (await call(session, "get_conversation"))["messages"] == []
    erased = await call(session, "erase_user", user_id=other_user)
    assert erased["messages"] == 1 and erased["memories"] >= 1 and erased["jobs"] == 1
    assert (await call(session, "list_memories", user_id=other_user))["total"] == 0


def test_every_tool_over_streamable_http(served: tuple[Service, str]) -> None:
    service, key = served
    headers = {"Authorization": f"Token {key}", "X-Memos-User-Id": "http-user"}

    async def scenario() -> None:
        async with http_session(service.base + "/mcp", headers) as session:
            await every_tool(session, "http-other")
        # No default user and none named: the tool says so.
        bearer = {"Authorization": f"Bearer {key}"}
        async with http_session(service.base + "/mcp", bearer) as session:
            assert "user_id is required" in await refused(session, "recall", query="x")
            assert (await call(session, "list_memories", user_id="http-user"))["total"] == 0

    asyncio.run(scenario())


def test_every_tool_over_stdio_calling_the_service(
    served: tuple[Service, str], tmp_path: Path
) -> None:
    service, key = served
    env = {
        "MEMOS_BASE_URL": service.api,
        "MEMOS_API_KEY": key,
        "MEMOS_USER_ID": "stdio-user",
        "DATA_DIR": str(tmp_path / "unused"),
    }

    async def scenario() -> None:
        async with stdio_session(env, tmp_path / "mcp.log") as session:
            await every_tool(session, "stdio-other")

    asyncio.run(scenario())
    assert not (tmp_path / "unused").exists()  # the service's data, not a local one
    assert "mcp over stdio, calling the service" in (tmp_path / "mcp.log").read_text()
    # A key the service refuses: each call is an error with the API's code.
    wrong = {**env, "MEMOS_API_KEY": "mpg-wrong"}

    async def refused_key() -> None:
        async with stdio_session(wrong, tmp_path / "wrong.log") as session:
            assert "40132" in await refused(session, "recall", query="x")

    asyncio.run(refused_key())


def test_every_tool_over_stdio_in_process(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"DATA_DIR": str(data), "MEMOS_USER_ID": "local-user"}

    async def scenario() -> None:
        async with stdio_session(env, tmp_path / "mcp.log") as session:
            await every_tool(session, "local-other")

    asyncio.run(scenario())
    assert (data / "api-key").exists() and (data / "memos.db").exists()
    assert "mcp over stdio, in-process" in (tmp_path / "mcp.log").read_text()


def test_http_refuses_a_missing_or_wrong_key_before_mcp(served: tuple[Service, str]) -> None:
    service, key = served

    def remember(user: str, headers: dict[str, str]) -> httpx.Response:
        # A bare tools/call: the stateless server runs it without an initialize first.
        return httpx.post(
            service.base + "/mcp",
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {
                    "name": "remember",
                    "arguments": {"user_id": user, "fact": "I live in Hangzhou.", "wait": True},
                },
            },
            headers={**ACCEPT, **headers},
            timeout=30,
        )

    missing = remember("nobody-1", {})
    assert missing.status_code == 401 and missing.json()["code"] == 40100
    wrong = remember("nobody-2", {"Authorization": "Token mpg-not-a-key"})
    assert wrong.status_code == 401 and wrong.json()["code"] == 40132
    assert wrong.json()["data"] is None and wrong.json()["message"]
    empty = remember("nobody-3", {"Authorization": "Bearer"})
    assert empty.status_code == 401 and empty.json()["code"] == 40100
    # The same call with the key runs the tool: the refused ones stored nothing.
    accepted = remember("somebody", {"Authorization": f"Token {key}"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["result"]["structuredContent"]["status"] == "completed"
    for user, messages in [("somebody", 1), ("nobody-1", 0), ("nobody-2", 0), ("nobody-3", 0)]:
        said = post(service, key, "/get/message", {"user_id": user, "conversation_id": "mcp"})
        assert len(said.json()["data"]["message_detail_list"]) == messages
    # The SDK's client gets the refusal as an HTTP error before any session exists.

    async def sdk_refused() -> None:
        with pytest.raises(BaseException) as raised:
            async with http_session(service.base + "/mcp", {"Authorization": "Token x"}):
                pass
        assert "401" in repr(raised.value) or "Unauthorized" in repr(raised.value)

    asyncio.run(sdk_refused())
