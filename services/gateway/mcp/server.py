"""The memory as tools for agents, over the Model Context Protocol (README, "Agents (MCP)").

The tools are a thin client of the openmem v1 API: each makes one API call (`forget` by a
filter, a few) and returns the useful part of its `data`; an answer whose code is not 0 comes
back to the agent as a tool error, "CODE: message". Two transports serve the same tools:

- stdio, `memos mcp`: with MEMOS_BASE_URL the tools call that service with MEMOS_API_KEY;
  without it, this process runs the embedded pipeline over DATA_DIR and the tools call its
  gateway in-process (the key: MEMOS_API_KEY, else the data dir's bootstrap key).
- streamable HTTP at the gateway's `/mcp`: the caller's `Authorization` key is checked as the
  API checks it before anything of MCP runs, and the tools call the gateway's own API
  in-process with that same header.

The user a tool acts for is its `user_id`, else the server's default: MEMOS_USER_ID for
`memos mcp`, the `X-Memos-User-Id` header over HTTP.
"""

import io
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio
import httpx
from fastapi import FastAPI
from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.session import ServerSession
from mcp.server.stdio import stdio_server
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from services.gateway.deps import authenticated_project, gateway_of
from shared.config import Settings
from shared.errors import APIError
from shared.http import envelope_response

log = logging.getLogger(__name__)

PATH = "/mcp"  # on the gateway
USER_HEADER = "x-memos-user-id"  # the default user of an HTTP caller
# The gateway's, not imported: services/gateway/app.py imports this module.
API_PREFIX = "/api/openmem/v1"
# get/memory's lists: facts, preferences, tool memories.
KINDS = ("memory_detail_list", "preference_detail_list", "tool_memory_detail_list")
# An add with `wait` is answered within the service's SYNC_ADD_TIMEOUT (30 s by default).
REMOTE_TIMEOUT = httpx.Timeout(300.0, connect=10.0)
INSTRUCTIONS = (
    "Long-term memory of a user. Call `recall` with the user's question before answering "
    "to get what is known about them (memories scored by relativity, and preferences); call "
    "`remember` with what they say that is worth keeping. Memories are extracted from "
    "messages by the service: `remember` with wait=true returns once they are searchable."
)

Ctx = Context[ServerSession, Any, Any]


class Api:
    """The openmem v1 API as the tools call it: `client` over the service (base URL up to
    /api/openmem/v1), with `api_key` (None: the HTTP caller's own Authorization header) and
    `user_id` the default user (None: the HTTP caller's X-Memos-User-Id header)."""

    def __init__(
        self, client: httpx.AsyncClient, api_key: str | None = None, user_id: str | None = None
    ) -> None:
        self.client, self.api_key, self.user_id = client, api_key, user_id

    def user(self, ctx: Ctx, user_id: str | None) -> str:
        request = ctx.request_context.request
        default = request.headers.get(USER_HEADER) if isinstance(request, Request) else None
        user = user_id or default or self.user_id
        if not user:
            raise ToolError(
                "user_id is required: pass user_id, or give the server a default user "
                "(MEMOS_USER_ID for `memos mcp`, the X-Memos-User-Id header over HTTP)"
            )
        return user

    async def post(self, ctx: Ctx, route: str, body: dict[str, Any]) -> Any:
        """The `data` of the route's answer; a ToolError "CODE: message" for any other."""
        request = ctx.request_context.request
        authorization = (
            f"Token {self.api_key}"
            if self.api_key
            else request.headers.get("authorization")
            if isinstance(request, Request)
            else None
        )
        headers = {"Authorization": authorization} if authorization else {}
        sent = {k: v for k, v in body.items() if v is not None}
        try:
            response = await self.client.post(route, json=sent, headers=headers)
        except httpx.HTTPError as exc:
            raise ToolError(f"the memory service cannot be reached: {exc!r}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or "code" not in answer:
            raise ToolError(f"HTTP {response.status_code}: not an answer of the memory API")
        if answer["code"] != 0:
            raise ToolError(f"{answer['code']}: {answer.get('message')}")
        return answer.get("data")


class Message(BaseModel):
    role: Literal["user", "assistant", "system"] = Field(description="who said it")
    content: str = Field(min_length=1, description="what was said")


UserId = Annotated[
    str | None,
    Field(
        description="the user the memory belongs to; omit for the server's default user",
        max_length=100,
    ),
]
Filter = Annotated[
    dict[str, Any] | None,
    Field(
        description='the API\'s filter: {"and"|"or": [conditions]}, a condition being '
        '{"agent_id": "x"}, {"app_id": "x"}, {"info.<key>": value}, {"tags": {"contains": "x"}}'
        ' or {"create_time"|"update_time": {"gt"|"gte"|"lt"|"lte": epoch ms or '
        '"YYYY-MM-DD[ HH:MM:SS]"}}'
    ),
]


def _found(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item["id"],
        "memory_value": item["memory_value"],
        "relativity": item.get("relativity"),
        "memory_type": item["memory_type"],
        "create_time": item["create_time"],
    }


def _listed(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item["id"],
        "title": item["memory_key"],
        "memory_value": item["memory_value"],
        "memory_type": item["memory_type"],
        "status": item["status"],
        "tags": item["tags"],
        "conversation_id": item["conversation_id"],
        "create_time": item["create_time"],
        "update_time": item["update_time"],
    }


def _preference(item: dict[str, Any]) -> dict[str, Any]:
    shown = {"id": item["id"], "preference": item.get("preference", item["memory_value"])}
    return shown | ({"relativity": item["relativity"]} if "relativity" in item else {})


def build_server(api: Api, **settings: Any) -> FastMCP:
    """The tools over `api`; `settings` are FastMCP's (the HTTP transport's)."""
    server = FastMCP(
        "memos",
        instructions=INSTRUCTIONS,
        # Callers are authenticated by their key, not by where they are: no Host check.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        **settings,
    )

    @server.tool()
    async def remember(
        ctx: Ctx,
        fact: Annotated[
            str | None,
            Field(description="one thing the user said, stored as a user message", min_length=1),
        ] = None,
        messages: Annotated[
            list[Message] | None,
            Field(description="turns of the conversation, in order (instead of fact)"),
        ] = None,
        user_id: UserId = None,
        conversation_id: Annotated[
            str, Field(description="the conversation they belong to", min_length=1)
        ] = "mcp",
        agent_id: Annotated[str | None, Field(description="the agent adding them")] = None,
        tags: Annotated[
            list[str] | None, Field(description="tags put on the memories made of them")
        ] = None,
        wait: Annotated[
            bool,
            Field(description="return once the memories are extracted and searchable"),
        ] = False,
    ) -> dict[str, Any]:
        """Store what the user said; the service extracts memories from it. Give `fact` (one
        statement) or `messages` (turns of the dialogue), not both. Returns the extraction
        job's task_id and status (running, or with wait: completed or failed)."""
        if (fact is None) == (messages is None):
            raise ToolError("give fact or messages (exactly one)")
        turns = (
            [m.model_dump() for m in messages]
            if messages is not None
            else [{"role": "user", "content": fact}]
        )
        data = await api.post(
            ctx,
            "/add/message",
            {
                "user_id": api.user(ctx, user_id),
                "conversation_id": conversation_id,
                "messages": turns,
                "agent_id": agent_id,
                "tags": tags,
                "async_mode": not wait,
            },
        )
        return {"task_id": data["task_id"], "status": data["status"]}

    @server.tool()
    async def recall(
        ctx: Ctx,
        query: Annotated[str, Field(description="what to look for", min_length=1)],
        user_id: UserId = None,
        conversation_id: Annotated[
            str | None, Field(description="its memories rank higher")
        ] = None,
        limit: Annotated[int, Field(description="memories at most", ge=1, le=25)] = 6,
        min_relativity: Annotated[
            float | None,
            Field(description="leave out memories scored below this", ge=0, le=1),
        ] = None,
        include_instruction: Annotated[
            bool,
            Field(description="also return an instruction for the answer, built from them"),
        ] = False,
    ) -> dict[str, Any]:
        """The user's memories most relevant to `query`, best first, each scored by
        relativity in [0, 1], and their preferences that bear on it."""
        data = await api.post(
            ctx,
            "/search/memory",
            {
                "user_id": api.user(ctx, user_id),
                "query": query,
                "conversation_id": conversation_id,
                "memory_limit_number": limit,
                "relativity": min_relativity,
                "include_preference": True,
                "return_instruction": include_instruction,
            },
        )
        found: dict[str, Any] = {
            "memories": [_found(m) for m in data["memory_detail_list"]],
            "preferences": [_preference(p) for p in data.get("preference_detail_list") or []],
        }
        if include_instruction:
            found["instruction"] = data.get("instruction")
        return found

    @server.tool()
    async def get_conversation(
        ctx: Ctx,
        conversation_id: Annotated[str, Field(description="the conversation", min_length=1)] = (
            "mcp"
        ),
        user_id: UserId = None,
        limit: Annotated[int | None, Field(description="the last N messages only", ge=1)] = None,
    ) -> dict[str, Any]:
        """The messages stored for a conversation of the user, in order."""
        data = await api.post(
            ctx,
            "/get/message",
            {
                "user_id": api.user(ctx, user_id),
                "conversation_id": conversation_id,
                "message_limit_number": limit,
            },
        )
        return {
            "messages": [
                {
                    "id": m["id"],
                    "role": m["role"],
                    "content": m["content"],
                    "chat_time": m.get("chat_time"),
                    "create_time": m["create_time"],
                }
                for m in data["message_detail_list"]
            ]
        }

    @server.tool()
    async def list_memories(
        ctx: Ctx,
        user_id: UserId = None,
        page: Annotated[int, Field(description="the page, from 1", ge=1)] = 1,
        size: Annotated[int, Field(description="memories a page", ge=1, le=50)] = 10,
        filter: Filter = None,
    ) -> dict[str, Any]:
        """A page of the user's memories, newest first (archived ones too), with their
        preferences, and the total."""
        data = await api.post(
            ctx,
            "/get/memory",
            {
                "user_id": api.user(ctx, user_id),
                "page": page,
                "size": size,
                "filter": filter,
                "include_preference": True,
                "include_tool_memory": False,
            },
        )
        return {
            "memories": [_listed(m) for m in data["memory_detail_list"]],
            "preferences": [_preference(p) for p in data.get("preference_detail_list") or []],
            "total": data["total"],
            "page": data["current"],
            "pages": data["pages"],
        }

    @server.tool()
    async def update_memory(
        ctx: Ctx,
        memory_id: Annotated[str, Field(description="the memory's id", min_length=1)],
        content: Annotated[str | None, Field(description="its new text", min_length=1)] = None,
        title: Annotated[str | None, Field(description="its new title", min_length=1)] = None,
        status: Annotated[
            Literal["activated", "archived"] | None,
            Field(description="archived: kept, but no longer found by recall"),
        ] = None,
    ) -> dict[str, Any]:
        """Edit a memory in place (its id stays; the version it replaces is kept in its
        history). Give at least one of content, title, status."""
        data = await api.post(
            ctx,
            "/update/memory",
            {"memory_id": memory_id, "content": content, "title": title, "status": status},
        )
        return {"task_id": data["task_id"], "memory": _listed(data["memory"])}

    @server.tool()
    async def forget(
        ctx: Ctx,
        memory_ids: Annotated[
            list[str] | None, Field(description="the memories to delete", min_length=1)
        ] = None,
        filter: Filter = None,
        user_id: UserId = None,
    ) -> dict[str, Any]:
        """Delete memories of the user, for good (with the versions they replaced): those
        of `memory_ids`, or those matching `filter` (exactly one of the two)."""
        if (memory_ids is None) == (filter is None):
            raise ToolError("give memory_ids or filter (exactly one)")
        user = api.user(ctx, user_id)
        if filter is not None:
            # The API deletes by a filter across the project: the user's ids are read first.
            memory_ids, page = [], 1
            while True:
                data = await api.post(
                    ctx,
                    "/get/memory",
                    {"user_id": user, "filter": filter, "page": page, "size": 50},
                )
                lists = [data.get(name) or [] for name in KINDS]
                memory_ids += [m["id"] for items in lists for m in items]
                if page >= data["pages"] and all(len(items) < 50 for items in lists):
                    break
                page += 1
            if not memory_ids:
                return {"deleted": []}
        await api.post(ctx, "/delete/memory", {"memory_ids": memory_ids, "user_ids": [user]})
        return {"deleted": memory_ids}

    @server.tool()
    async def erase_user(ctx: Ctx, user_id: UserId = None) -> dict[str, Any]:
        """Erase everything held for the user: messages, memories and their history, jobs.
        Final."""
        data = await api.post(ctx, "/delete/user", {"user_id": api.user(ctx, user_id)})
        return {k: data[k] for k in ("messages", "memories", "jobs")}

    return server


# --- streamable HTTP on the gateway ------------------------------------------------------


class _Endpoint:
    """/mcp: the caller's key checked as every API route checks it (40100, 40132 and the
    rate limits, in the API's envelope) before the request reaches MCP."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            await authenticated_project(
                request, gateway_of(request), request.headers.get("authorization")
            )
        except APIError as error:
            await envelope_response(error)(scope, receive, send)
            return
        await request.app.state.mcp(scope, receive, send)


def install_mcp(app: FastAPI) -> None:
    """The route; the server behind it runs in the gateway's lifespan (`running_mcp`)."""
    app.router.routes.append(Route(PATH, endpoint=_Endpoint(), include_in_schema=False))


@asynccontextmanager
async def running_mcp(app: FastAPI) -> AsyncIterator[None]:
    """The gateway's MCP server, stateless, answering in JSON: its tools call this same app
    in-process with the caller's Authorization header."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway" + API_PREFIX, timeout=None
    ) as client:
        server = build_server(
            Api(client), stateless_http=True, json_response=True, streamable_http_path=PATH
        )
        app.state.mcp = server.streamable_http_app()
        async with server.session_manager.run():
            yield


# --- stdio: `memos mcp` ------------------------------------------------------------------


def api_base(url: str) -> str:
    """MEMOS_BASE_URL as the SDK takes it (…/api/openmem/v1) or the service's root."""
    url = url.rstrip("/")
    return url if url.endswith(API_PREFIX) else url + API_PREFIX


def run_stdio(settings: Settings) -> int:
    """`memos mcp`: the MCP protocol on this process's stdin and stdout. Everything else
    that would write to stdout (a print, a child process) writes to stderr instead."""
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    out = anyio.wrap_file(io.TextIOWrapper(protocol, encoding="utf-8", write_through=True))
    anyio.run(_serve_stdio, settings, out)
    return 0


async def _serve_stdio(settings: Settings, out: anyio.AsyncFile[str]) -> None:
    user = settings.memos_user_id or None
    if settings.memos_base_url:
        base = api_base(settings.memos_base_url)
        async with httpx.AsyncClient(base_url=base, timeout=REMOTE_TIMEOUT) as client:
            log.info("mcp over stdio, calling the service", extra={"base_url": base})
            await _run(build_server(Api(client, settings.memos_api_key, user)), out)
        return
    from services.embedded import embedded_pipeline
    from services.gateway.app import create_app

    with embedded_pipeline(settings) as (runtime, bootstrap_key):
        app = create_app(runtime)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://memos" + API_PREFIX,
                timeout=None,
            ) as client,
        ):
            key = settings.memos_api_key or bootstrap_key
            log.info("mcp over stdio, in-process", extra={"data_dir": str(settings.data_dir)})
            await _run(build_server(Api(client, key, user)), out)


async def _run(server: FastMCP, out: anyio.AsyncFile[str]) -> None:
    # FastMCP.run_stdio_async, but writing to `out`: the low-level server it runs.
    async with stdio_server(stdout=out) as (read, write):
        lowlevel = server._mcp_server
        await lowlevel.run(read, write, lowlevel.create_initialization_options())
