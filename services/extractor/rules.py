"""The offline extractor: dialogue turns → attributed, self-contained memories, no LLM.

A user turn that stands on its own is one memory; short answers that follow it (up to three
turns: "带孩子", "对，带上老人") join it, so a need stated over several answers becomes one
statement. Assistant statements become memories of their own; assistant questions do not
(they hold no fact).
"""

import re
from datetime import date, datetime

from services.extractor.dates import resolve_relative_times
from services.extractor.schemas import ExtractedMemory, Turn
from shared.text import CJK, keywords, language

MAX_TURNS_PER_MEMORY = 3
SHORT_ZH, SHORT_EN = 24, 12  # characters, words: a turn this short may be an answer
ANSWER_START = re.compile(
    r"^(对[，,。!！的啊呀]|是的|是啊|没错|嗯|还有|而且|另外|yes|yeah|yep|right|also|and\b|plus)",
    re.IGNORECASE)
MAX_CHARS_PER_MEMORY = 400
PREFIX = {("user", "zh"): "[user观点]", ("assistant", "zh"): "[assistant观点]",
          ("user", "en"): "[user's view] ", ("assistant", "en"): "[assistant's view] "}
CONFIDENCE = {"user": 0.8, "assistant": 0.6}

# First- and second-person words rewritten so a memory reads without its dialogue.
ZH_PERSON = {
    "user": [("我们家", "用户家"), ("我们", "用户等人"), ("咱们", "用户等人"), ("我", "用户"),
             ("您", "助手"), ("你们", "助手"), ("你", "助手")],
    "assistant": [("我们", "助手"), ("我", "助手"), ("您", "用户"), ("你们", "用户"),
                  ("你", "用户")],
}
EN_PERSON = {
    "user": [("i'm", "the user is"), ("i've", "the user has"), ("i'd", "the user would"),
             ("i'll", "the user will"), ("myself", "the user"), ("mine", "the user's"),
             ("my", "the user's"), ("me", "the user"), ("i", "the user"),
             ("your", "the assistant's"), ("you", "the assistant")],
    "assistant": [("i'm", "the assistant is"), ("i'll", "the assistant will"),
                  ("i've", "the assistant has"), ("my", "the assistant's"),
                  ("me", "the assistant"), ("i", "the assistant"), ("you're", "the user is"),
                  ("your", "the user's"), ("you", "the user")],
}
_EN_PATTERNS = {
    role: [(re.compile(rf"\b{re.escape(src)}\b", re.IGNORECASE), dst) for src, dst in pairs]
    for role, pairs in EN_PERSON.items()
}
ZH_FILLER_START = re.compile(
    r"^(对|嗯|好的|好|是的|是|没错|收到|明白了|明白|哈哈|那|啊|哦)+[，,。！!、\s]*")
EN_FILLER_START = re.compile(r"^(yes|yeah|yep|ok|okay|sure|well|so|oh|right|great)\b[,.!\s]*",
                             re.IGNORECASE)
QUESTION_END = re.compile(r"[?？]\s*$")
TRAILING = re.compile(r"[\s。.!！~～,，;；、]+$")
CLAUSE = re.compile(r"[，,。.!！?？;；]")
LAST_CLAUSE = re.compile(r"[^，,。.!！?？;；]*[?？]\s*$")
HELP_REQUEST = re.compile(r"[你您].*[吗呢]|\b(can|could|would|will) you\b", re.IGNORECASE)
FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
RESOLVED = re.compile(r"（[^）]*\d{4}[^）]*）|\([^)]*\d{4}[^)]*\)")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d",
                "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%I:%M %p on %d %B, %Y")


def normalize_time(value: str | None) -> str | None:
    """chat_time in any common spelling → 'YYYY-MM-DD HH:MM:SS'; unknown spellings kept."""
    if not value:
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        pass
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            continue
    return text


def rewrite_person(text: str, role: str, lang: str) -> str:
    if lang == "zh":
        for src, dst in ZH_PERSON[role]:
            text = text.replace(src, dst)
        return text
    for pattern, dst in _EN_PATTERNS[role]:
        text = pattern.sub(dst, text)
    return text[:1].upper() + text[1:]


def _strip(text: str, lang: str) -> str:
    text = " ".join(text.split())
    filler = ZH_FILLER_START if lang == "zh" else EN_FILLER_START
    stripped, previous = text, None
    while stripped != previous:  # "收到，那我会…" loses both fillers
        previous, stripped = stripped, filler.sub("", stripped)
    return stripped or text


def _informative(text: str) -> bool:
    """Enough substance to remember: a few Chinese characters or a few real words."""
    return len(CJK.findall(text)) >= 4 or len(keywords(text, 3)) >= 2


def _drop_help_request(text: str) -> str:
    """"我想暑假出去玩，你能帮我推荐下吗？" states a plan and asks the assistant for help: keep
    the plan. Other questions ("Where should I go in Japan?") say something and stay."""
    match = LAST_CLAUSE.search(text)
    if not match or not HELP_REQUEST.search(match.group()):
        return text
    head = text[:match.start()]
    return head if keywords(head, 1) else text


def said_on(turn: Turn) -> date | None:
    normalized = normalize_time(turn.chat_time)
    try:
        return datetime.strptime(normalized[:10], "%Y-%m-%d").date() if normalized else None
    except ValueError:
        return None


def _statement(turn: Turn, lang: str) -> tuple[str, list[str]]:
    """The turn as a third-person statement with its relative times made absolute, and
    those absolute times."""
    text = _strip(turn.content, lang)
    if turn.role == "user":
        text = _drop_help_request(text)
    text = TRAILING.sub("", rewrite_person(text, turn.role, lang))
    day = said_on(turn)
    return resolve_relative_times(text, day, lang) if day else (text, [])


def _title(statements: list[str], lang: str) -> str:
    """The first clause that carries a keyword: short and specific."""
    for statement in statements:
        for clause in CLAUSE.split(statement):
            clause = clause.strip()
            if clause and keywords(clause, 1):
                return clause[:30 if lang == "zh" else 80]
    return statements[0][:30 if lang == "zh" else 80]


def _memory(turns: list[Turn], role: str) -> ExtractedMemory:
    text = " ".join(t.content for t in turns)
    lang = language(text)
    resolved = [_statement(t, lang) for t in turns]
    statements = [text for text, _ in resolved]
    event_days = [d for _, days in resolved for d in days if FULL_DATE.fullmatch(d)]
    joiner = "；" if lang == "zh" else "; "
    end = "。" if lang == "zh" else "."
    times = [t.chat_time for t in turns if t.chat_time]
    return ExtractedMemory(
        key=_title(statements, lang),
        value=PREFIX[(role, lang)] + joiner.join(statements)
        + ("" if statements[-1].endswith(("?", "？")) else end),
        tags=keywords(RESOLVED.sub("", " ".join(statements)), 5),
        # When it happened, if the dialogue says; else when it was said.
        memory_time=event_days[0] if event_days else (normalize_time(times[-1]) if times
                                                      else None),
        confidence=CONFIDENCE[role],
        source_ids=[t.id for t in turns],
        speaker=role,
    )


def _continues(content: str) -> bool:
    """A short answer to the assistant's question ("对，带上老人") completes the statement
    before it; a turn that stands on its own makes a memory of its own, so one fact can later
    be updated without touching the others."""
    if ANSWER_START.match(content):
        return True
    return (len(content) <= SHORT_ZH if language(content) == "zh"
            else len(content.split()) <= SHORT_EN)


def extract_by_rules(turns: list[Turn]) -> list[ExtractedMemory]:
    memories: list[ExtractedMemory] = []
    group: list[Turn] = []

    def close_group() -> None:
        if group:
            memories.append(_memory(group, "user"))
            group.clear()

    for turn in turns:
        content = turn.content.strip()
        if turn.role == "user":
            if not _informative(content):
                continue
            if group and (len(group) >= MAX_TURNS_PER_MEMORY
                          or not _continues(content)
                          or sum(len(t.content) for t in group) + len(content)
                          > MAX_CHARS_PER_MEMORY
                          or language(group[0].content) != language(content)):
                close_group()
            group.append(turn)
        elif turn.role == "assistant":
            if QUESTION_END.search(content) or not _informative(content):
                continue
            memories.append(_memory([turn], "assistant"))
        # system and tool turns are instructions and tool output, not facts about the user.
    close_group()
    order = {t.id: i for i, t in enumerate(turns)}
    return sorted(memories, key=lambda m: order[m.source_ids[0]])
