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
class Attribute:
    name: str
    value: str


def _about_someone_else(text: str, position: int) -> bool:
    """Whether the clause holding `position` is about another person ("她说长大要当饲养员")."""
    start = max(text.rfind(mark, 0, position) for mark in CLAUSE_MARKS) + 1
    return bool(OTHER_PERSON.search(text[start:position]))


def attributes(statement: str) -> dict[str, str]:
    """Attribute → value the statement sets for the user (its attribution prefix ignored;
    clauses about someone else are not the user's attributes)."""
    text = ATTRIBUTION.sub("", statement)
    found: dict[str, str] = {}
    for name, pattern in SLOT_PATTERNS:
        for match in pattern.finditer(text):
            if name not in found and not _about_someone_else(text, match.start()):
                found[name] = _clean(match.group("v"))
    for match in LIKE.finditer(text):
        if _about_someone_else(text, match.start()):
            continue
        liked = not (match.group("neg") or NEGATIVE_VERB.search(match.group(0)))
        found[f"likes:{_clean(match.group('v'))}"] = "yes" if liked else "no"
    return found


def _clean(value: str) -> str:
    return re.sub(r"^(the|a|an)\s+", "", value.strip().lower())


def contradicts(newer: str, older: str) -> bool:
    """Whether the newer statement sets an attribute of the older one to another value."""
    old = attributes(older)
    return any(name in old and old[name] != value for name, value in attributes(newer).items())


def is_profile_fact(statement: str) -> bool:
    """Preferences, family, job, home, contact, age: facts about who the user is."""
    return bool(attributes(statement)) or bool(PROFILE_WORDS.search(statement))
