"""Tool memories: what an agent did with a tool, for what, and what came of it, so it can
recall how it solved a task before. One memory per tool call, made by rules in every mode
(the calls are structured: nothing to guess): the user's request before it, the call's name
and arguments, the tool's result (the `tool` turn answering the call's id) and the
assistant's answer after. A tool's output is never made into a fact about the user (the
fact extractors skip tool turns)."""

from services.extractor.rules import normalize_time
from services.extractor.schemas import ExtractedMemory, Turn
from shared.text import keywords, language
from shared.vector_store import TOOLS

MAX_ARGUMENTS = 300  # characters of a call's arguments kept in its memory
MAX_RESULT = 300  # of the tool's result
MAX_ANSWER = 200  # of the assistant's answer
CONFIDENCE = 0.9  # it happened: the dialogue says so


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _described(name: str, arguments: str, request: str, result: str, answer: str) -> str:
    answer = answer.rstrip("。.!！")
    if language(request or answer) == "zh":
        parts = [f"为用户的请求“{request}”调用了工具 {name}" if request else f"调用了工具 {name}"]
        parts[0] += f"（参数 {arguments}）" if arguments else ""
        parts += [f"返回 {result}"] if result else ["没有返回结果"]
        parts += [f"助手回答：{answer}"] if answer else []
        return "，".join(parts[:2]) + ("；" + parts[2] if len(parts) > 2 else "") + "。"
    said = f' for the request "{request}"' if request else ""
    text = f"The assistant called the tool {name}" + (f" with {arguments}" if arguments else "")
    text += said + (f"; it returned {result}" if result else "; it returned nothing")
    return text + (f". The assistant answered: {answer}." if answer else ".")


def tool_memories(turns: list[Turn]) -> list[ExtractedMemory]:
    memories = []
    for i, turn in enumerate(turns):
        if turn.role != "assistant" or not turn.tool_calls:
            continue
        request = next((t for t in reversed(turns[:i]) if t.role == "user"), None)
        later = turns[i + 1 :]
        answer = next((t for t in later if t.role == "assistant" and t.content.strip()), None)
        for call in turn.tool_calls:
            function = call.get("function") or {}
            name = str(function.get("name") or "tool")
            arguments = _cut(str(function.get("arguments") or ""), MAX_ARGUMENTS)
            result = next(
                (t for t in later if t.role == "tool" and t.tool_call_id == call.get("id")), None
            )
            asked = _cut(request.content, MAX_ANSWER) if request else ""
            value = _described(
                name,
                "" if arguments in ("", "{}") else arguments,
                asked,
                _cut(result.content, MAX_RESULT) if result else "",
                _cut(answer.content, MAX_ANSWER) if answer else "",
            )
            sources = [t.id for t in (request, turn, result, answer) if t is not None]
            memories.append(
                ExtractedMemory(
                    key=f"{name}: {asked}"[:80] if asked else name,
                    value=value,
                    tags=list(dict.fromkeys([name, *keywords(asked, 4)])),
                    memory_time=normalize_time(turn.chat_time),
                    confidence=CONFIDENCE,
                    source_ids=list(dict.fromkeys(sources)),
                    speaker="assistant",
                    kind=TOOLS[0],
                )
            )
    return memories
