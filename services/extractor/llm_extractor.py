"""Extraction by an LLM: JSON out, validated, repaired by asking again, else the rules' result."""

import json
import logging
from typing import Literal

from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, Field, ValidationError, field_validator

from services.extractor.rules import PREFIX, extract_by_rules, normalize_time
from services.extractor.schemas import ExtractedMemory, Turn
from shared.llm import Llm
from shared.text import language

log = logging.getLogger(__name__)

SYSTEM_PROMPT = """You turn a dialogue between a user and an assistant into memories worth keeping
for future conversations with this user.

Rules:
- One memory per distinct fact, preference, plan, need or commitment. Skip greetings, filler and
  questions that state nothing.
- "value" is one self-contained statement that makes sense without the dialogue: name the
  speaker in the third person ("用户…" / "The user…"), resolve pronouns, and turn relative times
  ("last Saturday", "明天") into absolute dates using the message times when given.
- Write in the language of the dialogue.
- A "tool" turn is a tool's output and an assistant turn that calls tools is the agent at work:
  neither is a fact about the user (what the tools did is remembered apart).
- "speaker" is "user" or "assistant": whose view the memory records.
- "key" is a short title (at most 12 Chinese characters or 8 English words).
- "tags": 1 to 5 short keywords. "memory_time": when the fact happened or will happen,
  "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS", or null. "confidence": 0 to 1.
- "sources": the numbers of the messages the memory comes from.
- "kind": "fact" for every memory above. Each preference of the user (a like, dislike, habit
  or constraint: "prefers window seats", "不吃辣", "is allergic to peanuts") is also a memory
  of its own, in one short sentence: "explicit_preference" when the user states it,
  "implicit_preference" when a choice the user made clearly implies it (choosing the budget
  hotel twice: "The user may prefer good-value hotels"). Never a preference from what the
  assistant or a tool said.

Answer with JSON only, exactly this shape:
{"memories": [{"key": "...", "value": "...", "speaker": "user", "tags": ["..."],
  "memory_time": null, "confidence": 0.9, "sources": [0], "kind": "fact"}]}"""


class LLMMemory(BaseModel):
    key: str = Field(min_length=1, max_length=200)
    value: str = Field(min_length=1)
    speaker: str = "user"
    tags: list[str] = Field(default_factory=list)
    memory_time: str | None = None
    confidence: float = Field(0.8, ge=0, le=1)
    sources: list[int] = Field(min_length=1)
    kind: Literal["fact", "explicit_preference", "implicit_preference"] = "fact"

    @field_validator("speaker")
    @classmethod
    def _speaker(cls, value: str) -> str:
        return "assistant" if value.lower().startswith("assistant") else "user"


class LLMOutput(BaseModel):
    memories: list[LLMMemory]


def render_dialogue(turns: list[Turn]) -> str:
    lines = []
    for number, turn in enumerate(turns):
        when = f" ({turn.chat_time})" if turn.chat_time else ""
        calls = ", ".join(str((c.get("function") or {}).get("name")) for c in turn.tool_calls or [])
        content = turn.content + (f" [calls {calls}]" if calls else "")
        lines.append(f"[{number}] {turn.role}{when}: {content}")
    return "\n".join(lines)


def parse_output(raw: str, turns: list[Turn]) -> list[ExtractedMemory]:
    """Validates the LLM's answer; raises ValueError with a reason the LLM can act on."""
    text = raw.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        output = LLMOutput.model_validate(json.loads(text))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ValueError(f"the answer is not the JSON asked for: {exc}") from exc
    memories = []
    for item in output.memories:
        bad = [n for n in item.sources if not 0 <= n < len(turns)]
        if bad:
            raise ValueError(f"sources {bad} are not message numbers 0..{len(turns) - 1}")
        lang = language(item.value)
        prefix = PREFIX[(item.speaker, lang)] if item.kind == "fact" else ""
        value = item.value if item.value.startswith("[") else prefix + item.value
        memories.append(
            ExtractedMemory(
                key=item.key.strip(),
                value=value,
                tags=[t.strip() for t in item.tags if t.strip()][:8],
                memory_time=normalize_time(item.memory_time),
                confidence=item.confidence,
                source_ids=[turns[n].id for n in dict.fromkeys(item.sources)],
                speaker=item.speaker,
                kind=item.kind,
            )
        )
    return memories


def extract_by_llm(llm: Llm, turns: list[Turn]) -> list[ExtractedMemory]:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": render_dialogue(turns)},
    ]
    for attempt in range(llm.answer_attempts):
        try:
            raw = llm.chat(messages, purpose="extraction", json_output=True)
        except Exception as exc:
            log.warning("llm extraction call failed", extra={"error": str(exc)})
            break
        try:
            memories = parse_output(raw, turns)
        except ValueError as exc:
            log.warning(
                "llm extraction output rejected",
                extra={"attempt": attempt + 1, "error": str(exc)[:300]},
            )
            messages += [
                {"role": "assistant", "content": raw},
                {"role": "user", "content": f"{exc}. Answer again with JSON only."},
            ]
            continue
        if memories:
            return memories
        break
    # Bad, empty or no answer: the rules still keep what was said.
    return extract_by_rules(turns)
