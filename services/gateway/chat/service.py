"""Chat: the user's memories for the query (facts, preferences, tool memories), the recent
turns of the conversation and the query go to the configured LLM; its answer comes back whole
or streamed, and the exchange is stored as messages of the conversation (so it is remembered
like any other) once the whole answer has been given."""

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

from openai.types.chat import ChatCompletionMessageParam

from services.gateway.chat.schemas import ChatRequest
from services.gateway.deps import Gateway
from services.gateway.memories.service import search
from services.gateway.messages.schemas import AddMessageRequest, ChatMessage
from services.gateway.messages.service import get_messages
from shared.errors import LlmFailed, LlmNotConfigured
from shared.llm import Llm
from shared.schemas import SearchMemoryRequest
from shared.text import language

log = logging.getLogger(__name__)
HISTORY_TURNS = 10  # the conversation's latest turns sent with the query
SYSTEM = {
    "zh": "你是一名贴心、专业的智能助手。结合你对这位用户的了解，直接回答；信息不足时先提出澄清问题。",
    "en": "You are a helpful, attentive assistant. Answer directly, in the light of what you "
    "know about this user; if information is missing, ask a clarifying question first.",
}
KNOWN = {"zh": "关于这位用户，你已知道：", "en": "What you know about this user:"}
PROFILE = {"zh": "用户档案：", "en": "The user's profile: "}
TOOLS_USED = {"zh": "之前为这位用户用过的工具：", "en": "Tools used for this user before:"}


def _llm(gateway: Gateway) -> Llm:
    if gateway.runtime.llm is None:
        raise LlmNotConfigured()
    return gateway.runtime.llm


def prompt(
    gateway: Gateway, project_id: str, request: ChatRequest
) -> tuple[list[ChatCompletionMessageParam], dict[str, Any]]:
    """The messages for the LLM, and what search found for them."""
    _llm(gateway)  # before any work: a service without an LLM cannot chat
    found = search(
        gateway.retriever,
        gateway.runtime.settings.max_query_chars,
        project_id,
        SearchMemoryRequest(
            query=request.query,
            user_id=request.user_id,
            conversation_id=request.conversation_id,
            memory_limit_number=request.memory_limit_number,
            relativity=request.relativity,
            filter=request.filter,
            include_preference=request.include_preference,
            preference_limit_number=request.preference_limit_number,
            include_tool_memory=request.include_tool_memory,
            tool_memory_limit_number=request.tool_memory_limit_number,
        ),
    )
    lang = language(request.query)
    system = [request.system_prompt or SYSTEM[lang]]
    facts = [m["memory_value"] for m in found["memory_detail_list"]]
    if facts:
        system += [KNOWN[lang], *(f"- {f}" for f in facts)]
    for profile in found.get("profile_detail_list") or []:
        fields = [f"{k}: {v}" for k, v in profile["fields"].items() if v not in ("", [], None)]
        if fields:
            system.append(PROFILE[lang] + "; ".join(fields))
    if found.get("preference_note"):
        system.append(found["preference_note"])
    tools = [m["memory_value"] for m in found.get("tool_memory_detail_list") or []]
    if tools:
        system += [TOOLS_USED[lang], *(f"- {t}" for t in tools)]
    messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": "\n".join(system)}]
    for turn in get_messages(
        gateway.runtime.db, project_id, request.user_id, request.conversation_id, HISTORY_TURNS
    ):
        if turn.role == "user" and turn.content:
            messages.append({"role": "user", "content": turn.content})
        elif turn.role == "assistant" and turn.content:
            messages.append({"role": "assistant", "content": turn.content})
    messages.append({"role": "user", "content": request.query})
    return messages, found


def _references(found: dict[str, Any]) -> list[dict[str, Any]]:
    lists = ("memory_detail_list", "preference_detail_list", "tool_memory_detail_list")
    return [
        {"id": m["id"], "memory_value": m["memory_value"], "relativity": m.get("relativity")}
        for name in lists
        for m in found.get(name) or []
    ]


def _exchange(request: ChatRequest, answer: str) -> AddMessageRequest:
    return AddMessageRequest(
        user_id=request.user_id,
        conversation_id=request.conversation_id,
        messages=[
            ChatMessage(role="user", content=request.query),
            ChatMessage(role="assistant", content=answer),
        ],
        agent_id=request.agent_id,
        app_id=request.app_id,
        tags=request.tags,
        info=request.info,
        async_mode=request.async_mode,
    )


def _options(request: ChatRequest) -> dict[str, Any]:
    return {
        "temperature": 0.7 if request.temperature is None else request.temperature,
        "max_tokens": request.max_tokens,
        "top_p": request.top_p,
    }


def answer(gateway: Gateway, project_id: str, request: ChatRequest) -> dict[str, Any]:
    """The whole answer, and the exchange stored (`task_id`) when asked."""
    messages, found = prompt(gateway, project_id, request)
    try:
        text = _llm(gateway).chat(messages, purpose="chat", **_options(request))
    except Exception as exc:
        raise LlmFailed(f"the LLM did not answer: {type(exc).__name__}: {exc}") from exc
    task_id = None
    if request.add_message_on_answer and text:
        exchange = _exchange(request, text)
        task_id = gateway.ingest.submit(project_id, exchange, "add").result().task_id
    return {"response": text, "task_id": task_id, "references": _references(found)}


def _event(kind: str, data: Any) -> str:
    return "data: " + json.dumps({"type": kind, "data": data}, ensure_ascii=False) + "\n\n"


async def stream(
    gateway: Gateway,
    project_id: str,
    request: ChatRequest,
    messages: list[ChatCompletionMessageParam],
    found: dict[str, Any],
) -> AsyncIterator[str]:
    """Server-sent events: `reference` (the memories used), `text` pieces as the LLM writes
    them, then `end` (the whole answer and the stored exchange's `task_id`), or `error`. A
    client that goes away stops the LLM (its stream is closed) and nothing is stored: the
    user never got the answer."""
    llm, loop = _llm(gateway), asyncio.get_running_loop()
    pieces: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    gone = threading.Event()

    def produce() -> None:
        try:
            chunks = llm.stream(messages, purpose="chat", **_options(request))
            try:
                for piece in chunks:
                    if gone.is_set():
                        break
                    loop.call_soon_threadsafe(pieces.put_nowait, ("text", piece))
            finally:
                chunks.close()  # the endpoint's connection with it
            loop.call_soon_threadsafe(pieces.put_nowait, ("end", ""))
        except Exception as exc:
            log.warning("chat stream failed", extra={"error": str(exc)[:300]})
            loop.call_soon_threadsafe(pieces.put_nowait, ("error", f"{type(exc).__name__}: {exc}"))

    threading.Thread(target=produce, name="chat-stream", daemon=True).start()
    written: list[str] = []
    try:
        yield _event("reference", _references(found))
        while True:
            kind, piece = await pieces.get()
            if kind == "error":
                yield _event("error", {"code": LlmFailed.code, "message": piece[:500]})
                return
            if kind == "end":
                break
            written.append(piece)
            yield _event("text", piece)
        text, task_id = "".join(written), None
        if request.add_message_on_answer and text:
            future = gateway.ingest.submit(project_id, _exchange(request, text), "add")
            task_id = (await asyncio.wrap_future(future)).task_id
        yield _event("end", {"response": text, "task_id": task_id})
    finally:
        gone.set()
