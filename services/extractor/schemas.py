from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Turn:
    id: str
    role: str
    content: str
    chat_time: str | None
    tool_calls: list[dict[str, Any]] | None = None  # an assistant turn's, OpenAI's shape
    tool_call_id: str | None = None  # the call a tool turn answers


@dataclass
class ExtractedMemory:
    key: str
    value: str
    tags: list[str]
    memory_time: str | None
    confidence: float
    source_ids: list[str] = field(default_factory=list)
    speaker: str = "user"  # whose view: user or assistant
    subject: str | None = None  # the speaker's name, when the dialogue gives it
    context: str = ""  # the turns around it (indexed with it, not shown)
    kind: str = "fact"  # or explicit_preference / implicit_preference (shared/memories.py)
