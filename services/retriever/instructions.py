"""instruction (a half-finished prompt for the caller's own rules) and full_instruction
(a prompt to send straight to an LLM), in the language of the query."""

import logging
import re

from shared.llm import Llm
from shared.text import language

log = logging.getLogger(__name__)
ATTRIBUTION = re.compile(r"^\[[^\]]{1,30}\]\s*")


def _facts(memory_values: list[str]) -> list[str]:
    return [ATTRIBUTION.sub("", value) for value in memory_values]


def template_instruction(query: str, memory_values: list[str]) -> str:
    facts = _facts(memory_values)
    if language(query) == "zh":
        lines = [f"任务：回答用户“{query}”"]
        if facts:
            lines += ["已知用户信息：", *(f"- {f}" for f in facts)]
        lines += [
            "要求：",
            "- 回答时显式考虑上述用户信息与偏好",
            "- 建议需与用户的实际情况一致，与问题无关的信息不要提及",
            "备注：如关键信息不足，可由业务逻辑追加澄清策略",
        ]
        return "\n".join(lines)
    lines = [f'Task: answer the user\'s question "{query}"']
    if facts:
        lines += ["Known about the user:", *(f"- {f}" for f in facts)]
    lines += [
        "Requirements:",
        "- Take the user's situation and preferences above into account",
        "- Keep suggestions consistent with them; leave out what does not bear on the question",
        "Note: if key information is missing, business logic may add a clarification step",
    ]
    return "\n".join(lines)


def template_full_instruction(query: str, memory_values: list[str]) -> str:
    facts = _facts(memory_values)
    if language(query) == "zh":
        lines = ["你是一名贴心、专业的智能助手。"]
        if facts:
            lines += ["关于这位用户，你已知道：", *(f"{i}. {f}" for i, f in enumerate(facts, 1))]
        lines += [
            f"请直接回答“{query}”，并优先给出符合上述用户情况的建议。",
            "如果信息不足，请先提出澄清问题，再给出建议。",
        ]
        return "\n".join(lines)
    lines = ["You are a helpful, attentive assistant."]
    if facts:
        lines += ["What you know about this user:", *(f"{i}. {f}" for i, f in enumerate(facts, 1))]
    lines += [
        f'Answer "{query}" directly, favouring suggestions that fit the user\'s situation above.',
        "If information is missing, ask a clarifying question first, then advise.",
    ]
    return "\n".join(lines)


def preference_note(query: str, preferences: list[str]) -> str:
    """One short text a prompt can carry: the user's preferences that bear on the query, in
    the query's language ("" when none does)."""
    if not preferences:
        return ""
    if language(query) == "zh":
        return (
            "用户的偏好："
            + "；".join(p.rstrip("。") for p in preferences)
            + "。回答时请遵循这些偏好。"
        )
    listed = "; ".join(p.rstrip(".") for p in preferences)
    return f"The user's preferences: {listed}. Follow them in the answer where they apply."


LLM_PROMPT = """Memories about a user:
{facts}

The user now asks: "{query}"

Write {what}, in the language of the question. Answer with the prompt text only."""
WHAT = {
    "instruction": "a half-finished instruction for another developer: a 'Task' line naming the "
    "question, the audience and needs the memories reveal, 'Requirements' bullet "
    "points derived from the memories, and a 'Note' on what to clarify if "
    "information is missing",
    "full_instruction": "a complete system prompt for an assistant that answers this question "
    "for this user: give the assistant a role, state what it knows about "
    "the user, tell it to answer the question directly with suggestions "
    "that fit, and to ask a clarifying question first if information is "
    "missing",
}


def build(kind: str, query: str, memory_values: list[str], llm: Llm | None) -> str:
    template = template_instruction if kind == "instruction" else template_full_instruction
    if llm is None or not memory_values:
        return template(query, memory_values)
    facts = "\n".join(f"- {f}" for f in _facts(memory_values))
    try:
        text = llm.chat(
            [
                {
                    "role": "user",
                    "content": LLM_PROMPT.format(facts=facts, query=query, what=WHAT[kind]),
                }
            ],
            purpose=kind,
            temperature=0.3,
        ).strip()
    except Exception as exc:
        log.warning("llm instruction failed", extra={"error": str(exc)})
        text = ""
    return text or template(query, memory_values)
