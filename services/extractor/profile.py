"""What a statement says about the user, by rules: the attribute it sets (where the user
lives, works, their phone, whether they like something) and whether it is a profile fact.

Two statements setting the same attribute to different values contradict each other: the
newer one is the current truth."""

import re
from dataclasses import dataclass

_VALUE_END = r"(?=[，,。.；;！!？?、\s]|和|并|and\b|but\b|$)"
SLOT_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "residence",
        re.compile(
            r"(?:住在|搬到了?|搬去了?|定居在?|现居)"
            r"(?P<v>[\u4e00-\u9fffA-Za-z]{2,12}?)" + _VALUE_END
        ),
    ),
    (
        # "lives alone in a small apartment in Seattle", "moved into a new place in Denver":
        # the first capitalised place the clause lives in or moves to.
        "residence",
        re.compile(
            r"\b(?i:live|lives|living|moved|moving|relocated|settled)\b[^,.;!?]{0,40}?"
            r"\b(?:in|to)\s+(?P<v>[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)*)"
        ),
    ),
    (
        "residence",
        re.compile(
            r"\b(?:live|lives|living|moved|moving|relocated)\s+(?:in|to)\s+"
            r"(?P<v>[A-Za-z][A-Za-z .'-]{1,30}?)" + _VALUE_END,
            re.I,
        ),
    ),
    ("job", re.compile(r"(?:在|于)(?P<v>[\u4e00-\u9fffA-Za-z]{2,15}?)(?:工作|上班|任职)")),
    (
        "job",
        re.compile(
            r"(?:换到|跳槽到|跳槽去|入职了?|加入了?)(?P<v>[\u4e00-\u9fffA-Za-z]{2,15}?)"
            r"(?=工作|上班|任职|[，,。.；;！!？?、\s]|$)"
        ),
    ),
    (
        "job",
        re.compile(
            r"(?:职业是|工作是|是一名|是一位|当了?|做)(?P<v>[\u4e00-\u9fff]{2,8}?)"
            r"(?:工作)?" + _VALUE_END
        ),
    ),
    (
        "job",
        re.compile(
            r"\bworks?\s+(?:as|at|for)\s+(?:an?\s+)?(?P<v>[A-Za-z][A-Za-z .'-]{1,30}?)"
            + _VALUE_END,
            re.I,
        ),
    ),
    ("phone", re.compile(r"(?:手机|电话|phone|number)\D{0,12}(?P<v>\+?\d[\d\- ]{5,}\d)", re.I)),
    ("age", re.compile(r"(?P<v>\d{1,3})\s*(?:岁|years? old)", re.I)),
]
# "喜欢X" / "不喜欢X": the attribute is the liked thing, the value whether it is liked.
LIKE = re.compile(
    r"(?P<neg>不|没那么|并不|don't |do not |doesn't |does not |no longer )?"
    r"(?:喜欢|爱吃|爱喝|爱|讨厌|likes?|loves?|enjoys?|hates?|dislikes?)\s*"
    r"(?P<v>[\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z ]{0,20}?)" + _VALUE_END,
    re.I,
)
# How much or how often per period: "每周大概跑四十公里", "four espressos a day", "£300 a day",
# "a day rate of £400". The attribute is the period and the unit, the value the amount.
_AMOUNT = r"[£$€¥]?\s?\d+(?:[.,]\d+)*|[零一二两三四五六七八九十百千万半]+|" + "|".join(
    NUMBER_WORDS := ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
)
_UNITS = "公里|千米|小时|分钟|公斤|块钱|块|元|杯|片|次|个|本|瓶|斤|页|趟|粒|颗|包|碗|顿|km"
RATES = (
    re.compile(
        r"(?:每|一)(?P<period>天|日|周|星期|个?月|年)[^，,。；;！!？?]{0,8}?"
        rf"(?P<v>{_AMOUNT})\s?(?P<unit>{_UNITS})"
    ),
    re.compile(
        rf"(?<![\w£$€¥])(?P<v>{_AMOUNT})\s?(?P<unit>[a-z]+)?\s+(?:a|an|per|each)\s+"
        r"(?P<period>day|night|week|month|year|hour)\b",
        re.I,
    ),
    re.compile(
        r"\b(?P<period>day|hourly|weekly|monthly)\s+rate\s+(?:\w+\s+){0,2}?"
        rf"(?P<v>{_AMOUNT})(?P<unit>)",
        re.I,
    ),
)
PERIODS = {"日": "天", "星期": "周", "个月": "月", "hourly": "hour", "weekly": "week"}
PERIODS |= {"monthly": "month", "night": "day", "天": "day", "周": "week", "月": "month"}
# A newer statement that calls off what an older one says: "暑假不去日本了", "retired the
# Odyssey", "the barn fell through". The words it names must be in the older statement.
RETRACTIONS = (
    re.compile(r"不再?(?P<x>[\u4e00-\u9fff]{2,6}?)了"),
    re.compile(
        r"\b(?:retired|sold|got rid of|gave away|replaced|cancell?ed|called off|quit)\s+"
        r"(?:the|our|my|his|her|their|[\w]+'s)\s+(?P<x>[A-Za-z][\w-]{2,})",
        re.I,
    ),
    re.compile(
        r"\b(?:the|our|my|his|her|their)\s+(?P<x>[A-Za-z][\w-]{2,})\s+"
        r"(?:fell through|was cancell?ed|got cancell?ed|was called off|is off)\b",
        re.I,
    ),
)
NEGATIVE_VERB = re.compile(r"讨厌|hates?|dislikes?", re.I)
PROFILE_WORDS = re.compile(
    r"女儿|儿子|孩子|老婆|妻子|丈夫|老公|父母|爸爸|妈妈|父亲|母亲|家人|全家|过敏|生日|名字叫|叫做|"
    r"\b(?:daughter|son|kids?|children|wife|husband|parents?|mother|father|family|allergic|"
    r"birthday|my name|named)\b",
    re.I,
)
ATTRIBUTION = re.compile(r"^\[[^\]]{1,30}\]\s*")
CLAUSE_MARKS = "，,。.；;！!？?"
OTHER_PERSON = re.compile(
    r"[她他它]|女儿|儿子|孩子|老婆|妻子|丈夫|老公|朋友|同事|妈妈|爸爸|"
    r"\b(?:she|he|they|her|his|their|wife|husband|son|daughter|friend)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Setting:
    """An attribute the statement sets, to which value, and where it is said."""

    name: str
    value: str
    position: int


def _about_someone_else(text: str, position: int) -> bool:
    """Whether the clause holding `position` is about another person ("她说长大要当饲养员")."""
    start = max(text.rfind(mark, 0, position) for mark in CLAUSE_MARKS) + 1
    return bool(OTHER_PERSON.search(text[start:position]))


def settings(text: str) -> list[Setting]:
    """What the statement sets for the user, in the text without its attribution prefix
    (clauses about someone else are not the user's attributes)."""
    found = [
        Setting(name, _clean(match.group("v")), match.start())
        for name, pattern in SLOT_PATTERNS
        for match in pattern.finditer(text)
    ]
    found += [
        Setting(_rate(match), _clean(match.group("v")), match.start())
        for pattern in RATES
        for match in pattern.finditer(text)
    ]
    for match in LIKE.finditer(text):
        liked = not (match.group("neg") or NEGATIVE_VERB.search(match.group(0)))
        found.append(
            Setting(f"likes:{_clean(match.group('v'))}", "yes" if liked else "no", match.start())
        )
    return [s for s in found if not _about_someone_else(text, s.position)]


def attributes(statement: str) -> dict[str, str]:
    """Attribute → value the statement sets for the user (the first it says)."""
    found: dict[str, str] = {}
    for setting in settings(ATTRIBUTION.sub("", statement)):
        found.setdefault(setting.name, setting.value)
    return found


def _clean(value: str) -> str:
    value = re.sub(r"^(the|a|an)\s+", "", value.strip().lower())
    return str(NUMBER_WORDS.index(value) + 1) if value in NUMBER_WORDS else value


def _rate(match: re.Match[str]) -> str:
    """The attribute of an amount per period: the period and the unit, singular."""
    period = match.group("period").lower()
    unit = re.sub(r"(?<=[a-z]{2})(?<!s)s$", "", (match.group("unit") or "").lower())
    if not unit and match.group("v")[0] in "£$€¥":
        unit = "money"
    return f"rate:{PERIODS.get(period, period)}:{unit}"


def _outdated(newer: str, older: str) -> list[int]:
    """Where, in the older statement without its prefix, it says what the newer one changes:
    an attribute set to another value, or something the newer one calls off."""
    new = attributes(newer)
    old = ATTRIBUTION.sub("", older)
    positions = [s.position for s in settings(old) if new.get(s.name, s.value) != s.value]
    for pattern in RETRACTIONS:
        for match in pattern.finditer(ATTRIBUTION.sub("", newer)):
            said = re.escape(match.group("x"))
            positions += [
                m.start() for m in re.finditer(rf"(?<![A-Za-z]){said}(?![A-Za-z])", old, re.I)
            ]
    return positions


def contradicts(newer: str, older: str) -> bool:
    """Whether the newer statement sets an attribute of the older one to another value, or
    calls off what the older one says."""
    return bool(_outdated(newer, older))


CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")
WORD = re.compile(r"[A-Za-z0-9]+(?:['.][A-Za-z0-9]+)*")
# A clause and the mark that ends it (a point inside a number ends nothing).
CLAUSE = re.compile(r"(?:[^，,。；;！!？?.]|\.(?=\d))*(?:[，,。；;！!？?]|\.(?!\d))?")
LEADING_LINK = re.compile(r"^(?:and|but|so|also|then|所以|而且|但是|但|并且|并|还)\s*", re.I)


def remainder(newer: str, older: str) -> str | None:
    """The older statement without the clauses the newer one makes outdated, when the rest
    still says something ("…跑四十公里，去年跑过一次半马…" keeps the half marathon): the
    other facts of a memory outlive the one that changed."""
    prefix = ATTRIBUTION.match(older)
    head = prefix.group(0) if prefix else ""
    body = older[len(head) :]
    outdated = _outdated(newer, older)
    if not outdated:
        return None
    kept = [
        c.group(0)
        for c in CLAUSE.finditer(body)
        if c.group(0) and not any(c.start() <= p < c.end() for p in outdated)
    ]
    rest = LEADING_LINK.sub("", "".join(kept).strip())
    # What is left must still say something: ten Chinese characters or eight words.
    if len(CJK_CHAR.findall(rest)) < 10 and len(WORD.findall(rest)) < 8:
        return None
    if rest[-1] in "，,；;":
        rest = rest[:-1] + ("。" if CJK_CHAR.search(rest) else ".")
    return head + rest[0].upper() + rest[1:]


def is_profile_fact(statement: str) -> bool:
    """Preferences, family, job, home, contact, age: facts about who the user is."""
    return bool(attributes(statement)) or bool(PROFILE_WORDS.search(statement))
