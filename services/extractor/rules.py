"""The offline extractor: dialogue turns → attributed, self-contained memories, no LLM.

A user turn that stands on its own is one memory; short answers that follow it (up to three
turns: "带孩子", "对，带上老人") join it, so a need stated over several answers becomes one
statement. The assistant's turns around it (the question it answers, the reply it got) are its
context: among its sources and indexed with it, but not memories of their own, so a fact is
remembered once, from the side of whoever said it (measured on LoCoMo: standalone copies of the
other side's turns crowded the top 10 and cost 0.10 of recall@10). When turns carry their
speaker's name ("Caroline: …"), memories name the person; English is written in the third
person with verbs that agree and pronouns resolved (services/extractor/english.py).
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from services.extractor.dates import resolve_relative_times
from services.extractor.english import third_person
from services.extractor.preferences import preferences_of
from services.extractor.schemas import ExtractedMemory, Turn
from shared.clock import read_chat_time
from shared.text import CJK, keywords, language

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_TURNS_PER_MEMORY = 3
SHORT_ZH, SHORT_EN = 24, 6  # characters, words: a turn this short may be an answer
ANSWER_START = re.compile(
    r"^(对[，,。!！的啊呀]|是的|是啊|没错|嗯|还有|而且|另外|yes|yeah|yep|right|also|and\b|plus)",
    re.IGNORECASE,
)
MAX_CHARS_PER_MEMORY = 400
PREFIX = {
    ("user", "zh"): "[user观点]",
    ("assistant", "zh"): "[assistant观点]",
    ("user", "en"): "",
    ("assistant", "en"): "",
}
SPEAKER = re.compile(r"^([A-Z][\w'.-]*(?: [A-Z][\w'.-]*){0,2}):\s+")  # "Caroline: …"
ANONYMOUS = {"user": "the user", "assistant": "the assistant"}
RECENT_TURNS = 3  # turns before a statement that may name who "she" is
MAX_REPLY_CHARS = 200  # of the answer shown with a question the user asked
CONFIDENCE = {"user": 0.8, "assistant": 0.6}

# First- and second-person words rewritten so a memory reads without its dialogue.
ZH_PERSON = {
    "user": [
        ("我们家", "用户家"),
        ("我们", "用户等人"),
        ("咱们", "用户等人"),
        ("我", "用户"),
        ("您", "助手"),
        ("你们", "助手"),
        ("你", "助手"),
    ],
    "assistant": [
        ("我们", "助手"),
        ("我", "助手"),
        ("您", "用户"),
        ("你们", "用户"),
        ("你", "用户"),
    ],
}
ZH_FILLER_START = re.compile(
    r"^(对了|对|嗯|好的|好|是的|是|没错|收到|明白了|明白|哈哈|那|啊|哦)+[，,。！!、\s]*"
)
# A short opening sentence that only greets or reacts ("Hey Maria!", "Wow, that's great!",
# "Thanks, John."): no fact, and a reader of the memory does not need it.
EN_REACTION_START = re.compile(
    r"^(hey|hi|hello|wow|whoa|oh|aww|omg|haha|yay|thanks|thank you|congrats|congratulations|"
    r"cool|great|awesome|nice|sweet|amazing|that's (so )?(great|awesome|amazing|cool|"
    r"wonderful)|sounds (great|fun|awesome|cool|amazing)|good to see you|long time no see)"
    r"\b[^.!?]{0,30}[.!]+\s+",
    re.IGNORECASE,
)
# Closing sentences that only say goodbye ("Take care and talk to you soon!", "Bye!").
EN_PARTING_END = re.compile(
    r"(^|(?<=[.!?])\s+)((ok(ay)?|well|anyway|alright)[, ]+)?(take care|bye|goodbye|see you|"
    r"talk (to you )?(soon|later)|(let's )?(chat|catch up|talk) (again )?soon|catch you later|"
    r"have fun|good luck|have a (great|good|nice) (day|night|one|time)|keep (me|us) posted)"
    r"([ ,]+(and|&) [^.!?]{0,30})?[ ,]*(bye|everyone|guys)?[.!]*$",
    re.IGNORECASE,
)
# A short sentence that only reacts, thanks, cheers on or asks after the listener ("That's
# great!", "Keep it up!", "Thanks for the tips.", "How's it going?", "Got it!"): 13% of
# LoCoMo's sentences. One that names someone, holds a number or speaks of the speaker stays.
EN_SMALL_TALK = re.compile(
    r"^(?:(?:oh|wow|yeah|yes|aw+|hey|haha|ha|so|well|and|but|ok(?:ay)?)[,!]?\s+)*(?:that'?s|"
    r"that is|sounds|what an?|how (?:cool|nice|great|fun|sweet|awesome|amazing|exciting|lovely|"
    r"wonderful)|wow|whoa|nice|great|awesome|amazing|cool|lovely|wonderful|fantastic|congrats|"
    r"congratulations|thanks|thank you|appreciate|good to|great to|nice to|glad|happy for|"
    r"so happy|proud of|keep (?:it|up|going|doing|at it)|you got this|you can do it|"
    r"you've got this|take care|good luck|best of luck|have (?:a|an|fun)|enjoy|sweet dreams|"
    r"long time|woo+hoo|yay|haha+|lol|no worries|no problem|agreed|same here|me too|"
    r"hope (?:you|it|that|so)|bye|see you|talk soon|good (?:pick|choice|idea|call|point|one|"
    r"job|work|stuff)|got it|gotcha|anytime|(?:that )?makes sense|for sure|definitely|"
    r"totally|absolutely|exactly|you bet|oh no|sorry to hear)\b",
    re.IGNORECASE,
)
# Of questions, only those that ask after the listener: the others say what was asked.
EN_ASKING_AFTER = re.compile(
    r"^(?:(?:hey|so|and|but)[,!]?\s+)*(?:guess what|how about you|what about you|and you|"
    r"how's it going|how are you|how have you been|how ya been|what's up|what's new)\b",
    re.IGNORECASE,
)
SMALL_TALK_WORDS = 8
FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|my|me|mine|we|we're|we've|our|us)\b", re.I)
SENTENCE = re.compile(r"(?<=[.!?])\s+")
MAX_STRIP_ROUNDS = 4
EN_FILLER_START = re.compile(
    r"^(yes|yeah|yep|ok|okay|sure|well|so|oh|right|great)\b[,.!\s]*", re.IGNORECASE
)
QUESTION_END = re.compile(r"[?？]\s*$")
TRAILING_MARKS = "。.!！~～,，;；、"  # and whitespace
CLAUSE_MARKS = "，,。.!！?？;；"
CLAUSE = re.compile(f"[{CLAUSE_MARKS}]")
# From a line's first 你/您 on: linear (searched from every 你, ".*" made a 50k-character
# turn with many 你 and no 吗 a second's work holding the GIL).
HELP_REQUEST = re.compile(
    r"^[^\n你您]*[你您].*[吗呢]|\b(can|could|would|will) you\b", re.IGNORECASE | re.MULTILINE
)
FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
RESOLVED = re.compile(r"（[^）]*\d{4}[^）]*）|\([^)]*\d{4}[^)]*\)")


def normalize_time(value: str | None) -> str | None:
    """chat_time in any common spelling → 'YYYY-MM-DD HH:MM:SS'; unknown spellings kept."""
    if not value:
        return None
    read = read_chat_time(value)
    return read.strftime("%Y-%m-%d %H:%M:%S") if read else value.strip()


def rewrite_person(text: str, role: str) -> str:
    """Chinese first and second person → 用户 / 助手 (English: english.third_person)."""
    for src, dst in ZH_PERSON[role]:
        text = text.replace(src, dst)
    return text


@dataclass(frozen=True)
class Voice:
    """Who speaks a turn and to whom, as a memory names them."""

    subject: str
    listener: str


def speaker_names(turns: list[Turn]) -> dict[str, str]:
    """Each role's name, when its turns start with one ("Caroline: …")."""
    names: dict[str, str] = {}
    for turn in turns:
        match = SPEAKER.match(turn.content.strip())
        if match and turn.role in ANONYMOUS:
            names.setdefault(turn.role, match.group(1))
    return names


def voice(role: str, names: dict[str, str]) -> Voice:
    other = "assistant" if role == "user" else "user"
    return Voice(names.get(role, ANONYMOUS[role]), names.get(other, ANONYMOUS[other]))


def spoken(content: str) -> str:
    """The turn without its speaker's name."""
    return SPEAKER.sub("", content.strip(), count=1)


def _strip(text: str, lang: str) -> str:
    """The turn without the fillers it opens with and the goodbyes it ends with ("" when
    that is all it says). A few rounds at most: "收到，那我会…" loses both fillers, and a
    turn of 12,000 "yes" costs four passes, not one per word."""
    text = " ".join(text.split())
    fillers = [ZH_FILLER_START] if lang == "zh" else [EN_REACTION_START, EN_FILLER_START]
    stripped = text
    for _ in range(MAX_STRIP_ROUNDS):
        previous = stripped
        for filler in fillers:
            stripped = filler.sub("", stripped)
        if lang != "zh":
            parted = EN_PARTING_END.sub("", stripped).strip()
            if stripped and not parted:
                return ""  # nothing but goodbyes: no fact to keep
            stripped = parted
        if stripped == previous:
            break
    if lang != "zh" and stripped:
        stripped = _without_small_talk(stripped)
        if not stripped:
            return ""  # nothing but small talk: no fact to keep
    return stripped or text


def _small_talk(sentence: str) -> bool:
    return (
        len(sentence.split()) <= SMALL_TALK_WORDS
        and bool((EN_ASKING_AFTER if sentence.endswith("?") else EN_SMALL_TALK).match(sentence))
        and not FIRST_PERSON.search(sentence)
        and not re.search(r"\d|\s[A-Z][a-z]", sentence)
    )


def _without_small_talk(text: str) -> str:
    """The text without its small-talk sentences (EN_SMALL_TALK)."""
    return " ".join(s for s in SENTENCE.split(text) if s and not _small_talk(s))


def _without_address(text: str, listener: str) -> str:
    """ "Glad you have support, John." addresses John; rewritten, "…, John" would read as a
    list. The name goes (it is the listener the rest of the turn names)."""
    name = re.escape(listener)
    text = re.sub(rf",\s*{name}(?=\s*[.!?]|$)", "", text)
    return re.sub(rf"(^|(?<=[.!?]\s)){name}[,!]\s+", "", text)


def _informative(text: str) -> bool:
    """Enough substance to remember: a few Chinese characters or a few real words."""
    return len(CJK.findall(text)) >= 4 or len(keywords(text, 3)) >= 2


def _drop_help_request(text: str) -> str:
    """ "我想暑假出去玩，你能帮我推荐下吗？" states a plan and asks the assistant for help: keep
    the plan. Other questions ("Where should I go in Japan?") say something and stay."""
    start = _last_question_start(text)
    if start is None or not HELP_REQUEST.search(text[start:]):
        return text
    head = text[:start]
    return head if keywords(head, 1) else text


def _without_trailing_marks(text: str) -> str:
    """The text without the punctuation and spaces it ends with. A loop from the end: the
    regex this was ("[…]+$") tried every run of marks to its end, 10 s holding the GIL for a
    turn of 25k commas."""
    end = len(text)
    while end and (text[end - 1].isspace() or text[end - 1] in TRAILING_MARKS):
        end -= 1
    return text[:end]


def _last_question_start(text: str) -> int | None:
    """Where the question the text ends with begins: after the last clause mark before its
    question mark. Found from the end in linear time (a regex searched from each position
    took 0.1-0.4 s, holding the GIL, on one 3.7k-character turn without punctuation)."""
    body = text.rstrip()
    if not body.endswith(("?", "？")):
        return None
    return max(body.rfind(mark, 0, len(body) - 1) for mark in CLAUSE_MARKS) + 1


def said_on(turn: Turn) -> date | None:
    normalized = normalize_time(turn.chat_time)
    try:
        return datetime.strptime(normalized[:10], "%Y-%m-%d").date() if normalized else None
    except ValueError:
        return None


def _statement(
    turn: Turn, lang: str, names: dict[str, str], recent: list[str]
) -> tuple[str, list[str]]:
    """The turn as a third-person statement with its relative times made absolute, and
    those absolute times."""
    text = _strip(spoken(turn.content), lang)
    if turn.role == "user":
        text = _drop_help_request(text)
    if lang == "zh":
        text = rewrite_person(text, turn.role)
    else:
        who = voice(turn.role, names)
        text = _or_as_said(
            turn,
            "third person",
            lambda: third_person(
                _without_address(text, who.listener), who.subject, who.listener, recent
            ),
            text,
        )
    text = _without_trailing_marks(text)
    if lang == "en":  # "yeah, it's a way to…" stripped of its opening still starts a sentence
        text = text[:1].upper() + text[1:]
    day = said_on(turn)
    if day is None:
        return text, []
    without_times: tuple[str, list[str]] = (text, [])
    return _or_as_said(
        turn, "relative times", lambda: resolve_relative_times(text, day, lang), without_times
    )


def _or_as_said(turn: Turn, step: str, rewrite: Callable[[], T], as_said: T) -> T:
    """One rewriting step of one turn; a turn the step cannot handle is kept without it (the
    reason logged), so no single message fails its job."""
    try:
        return rewrite()
    except Exception as exc:
        log.warning(
            "extraction step skipped",
            extra={
                "step": step,
                "message_id": turn.id,
                "error": f"{type(exc).__name__}: {exc}"[:300],
            },
        )
        return as_said


def title(statements: list[str], lang: str) -> str:
    """The first clause that carries a keyword: short and specific."""
    for statement in statements:
        for clause in CLAUSE.split(statement):
            clause = clause.strip()
            if clause and keywords(clause, 1):
                return clause[: 30 if lang == "zh" else 80]
    return statements[0][: 30 if lang == "zh" else 80]


def _memory(turns: list[Turn], group: list[int], names: dict[str, str]) -> ExtractedMemory:
    """One memory from the user's turns at the positions in `group`; the assistant's turns
    right before, between and right after them are its context."""
    first, last = group[0], group[-1]
    context = [
        i
        for i in range(max(0, first - 1), min(len(turns), last + 2))
        if turns[i].role == "assistant"
    ]
    said = [turns[i] for i in group]
    lang = language(" ".join(spoken(t.content) for t in said))
    resolved = [
        _statement(
            turns[i], lang, names, [spoken(t.content) for t in turns[max(0, i - RECENT_TURNS) : i]]
        )
        for i in group
    ]
    statements = [text for text, _ in resolved]
    event_days = [d for _, days in resolved for d in days if FULL_DATE.fullmatch(d)]
    if lang == "en":  # sentences of their own: "… powerful. The stories …"
        statements = [t if t.endswith(("?", "!", ".")) else t + "." for t in statements]
    joiner = "；" if lang == "zh" else " "
    end = "。" if lang == "zh" else ""
    times = [t.chat_time for t in said if t.chat_time]
    answered = last + 1 in context and QUESTION_END.search(turns[last].content)
    return ExtractedMemory(
        key=title(statements, lang),
        value=PREFIX[("user", lang)]
        + joiner.join(statements)
        + ("" if statements[-1].endswith(("?", "？")) else end)
        + (_answer(turns[last + 1], turns[last], lang, names) if answered else ""),
        tags=keywords(RESOLVED.sub("", " ".join(statements)), 5),
        # When it happened, if the dialogue says; else when it was said.
        memory_time=event_days[0] if event_days else (normalize_time(times[-1]) if times else None),
        confidence=CONFIDENCE["user"],
        source_ids=[turns[i].id for i in sorted(group + context)],
        speaker="user",
        subject=names.get("user"),
        context="\n".join(turns[i].content for i in context),
    )


def _answer(reply: Turn, question: Turn, lang: str, names: dict[str, str]) -> str:
    """A question the user asked is remembered with the answer it got."""
    answer = spoken(reply.content)
    if lang == "zh":
        return rewrite_person(answer, "assistant")[:MAX_REPLY_CHARS]
    who = voice("assistant", names)
    return (
        " "
        + third_person(answer, who.subject, who.listener, [spoken(question.content)])[
            :MAX_REPLY_CHARS
        ]
    )


def _continues(content: str, before: Turn) -> bool:
    """A short answer to the assistant's question ("对，带上老人") completes the statement
    before it; a turn that stands on its own makes a memory of its own, so one fact can later
    be updated without touching the others (a short statement after the assistant's remark,
    "我养了一只英短蓝猫", is a fact of its own: joined to the thesis before it, it was archived
    with the thesis when the user moved)."""
    if ANSWER_START.match(content):
        return True
    if QUESTION_END.search(content) or (
        before.role == "assistant" and not QUESTION_END.search(before.content)
    ):
        return False
    return (
        len(content) <= SHORT_ZH if language(content) == "zh" else len(content.split()) <= SHORT_EN
    )


def extract_by_rules(turns: list[Turn]) -> list[ExtractedMemory]:
    # System and tool turns are no facts, nor an assistant turn that only calls tools.
    turns = [t for t in turns if t.role in ANONYMOUS and t.content.strip()]
    groups: list[list[int]] = []  # positions of the user's turns, a memory each
    for i, turn in enumerate(turns):
        content = spoken(turn.content)
        if turn.role != "user" or not _informative(_strip(content, language(content))):
            continue
        group = [turns[j] for j in groups[-1]] if groups else None
        if group is None or (
            len(group) >= MAX_TURNS_PER_MEMORY
            or not _continues(content, turns[i - 1])
            or sum(len(t.content) for t in group) + len(content) > MAX_CHARS_PER_MEMORY
            or language(spoken(group[0].content)) != language(content)
        ):
            groups.append([i])
        else:
            groups[-1].append(i)
    names = speaker_names(turns)
    memories = [_memory(turns, group, names) for group in groups]
    return memories + preferences_of(memories)
