"""Preferences by rules: the likes, dislikes, habits and constraints the user states, found in
the third-person statements the rules make of their turns ("The user doesn't like spicy
food", "用户喜欢靠窗的座位"), each a memory of its own beside the fact it came from.

A preference has a stance (liking or not) towards an object; a newer preference that turns
the stance on the same object ("用户不喝咖啡了" after "用户爱喝咖啡"), or that names a
different one of the same thing in words of change ("now prefers aisle seats" after "prefers
window seats"), makes the older one outdated (`opposed`)."""

import re
from dataclasses import dataclass, replace

from services.extractor.profile import ATTRIBUTION
from services.extractor.schemas import ExtractedMemory
from shared.lexical import words
from shared.text import keywords, language
from shared.vector_store import PREFERENCES

EXPLICIT, IMPLICIT = PREFERENCES

_ZH_NEGATIVE = (
    "不太喜欢|不喜欢|不爱吃|不爱喝|不爱|不吃|不喝|不碰|受不了|讨厌|反感|吃不了|喝不了|"
    "不能吃|不能喝|忌口|过敏"
)
_ZH_POSITIVE = (
    "最喜欢|更喜欢|比较喜欢|很喜欢|特别喜欢|喜欢|最爱|热爱|爱吃|爱喝|偏爱|偏好|钟爱|习惯|"
    "倾向于|一般都|一般住|一般选|通常|总是|每次都|吃素|只(?:看|吃|喝|用|穿|住|坐|听|买)"
)
ZH_STANCE = re.compile(
    rf"对(?P<allergen>[^，。；]{{1,12}}?)过敏|(?P<negative>{_ZH_NEGATIVE})|(?P<positive>{_ZH_POSITIVE})"
)
ZH_PAST = re.compile(r"以前|曾经|过去|原来|小时候")  # a stance the user no longer holds
ZH_PLAN = re.compile(r"想|打算|计划|准备|要不要|是否")
ZH_LEADING = re.compile(r"^(?:也|但是|但|而且|并且|还|不过|所以|另外|其实)+")
ZH_SPLIT = re.compile(r"(?<=[。！!；;？?])")
ZH_CLAUSE = re.compile(r"[，,、]")

_EN_NEGATIVE = (
    r"(?:doesn't|does not|don't|do not|never|no longer) "
    r"(?:like|eat|drink|enjoy|care for|drive|cook|smoke|fly|watch|read)s?|"
    r"hates?|dislikes?|detests?|can't stand|cannot stand|avoids?|is allergic to|"
    r"is not (?:a fan of|into)|isn't (?:a fan of|into)|is (?:lactose|gluten) intolerant"
)
_EN_POSITIVE = (
    r"likes|loves|prefers|enjoys|adores|would rather|is (?:a (?:big |huge )?fan of|into|"
    r"passionate about|obsessed with|vegetarian|vegan)|always (?:chooses|picks|orders|goes for)|"
    r"is (?:now )?(?:trying|on|following) (?:a |the )?\w+ diet|"
    # habits, in the present simple of the rewritten statement ("drinks the user's coffee black")
    r"(?:only |always |usually )?(?:drinks|eats|reads|listens to|watches|wears|drives|cooks)"
)
EN_STANCE = re.compile(
    r"(?P<subject>\bthe user(?:'s [a-z]+(?: [A-Z][a-z]+)?)?|\b[A-Z][a-z]+(?:'s [a-z]+)?)"
    r"(?: (?:really|also|still|just|much|especially|usually|generally|absolutely|totally|"
    r"now|definitely|kind of|mostly|truly))*"
    rf" (?:(?P<negative>{_EN_NEGATIVE})|(?P<positive>{_EN_POSITIVE}))\b(?P<object>.*)",
    re.IGNORECASE,
)
EN_FAVOURITE = re.compile(
    r"(?P<subject>\bthe user's|\b[A-Z][a-z]+'s) (?P<positive>favou?rite)\b(?P<object>.*)", re.I
)
EN_NOT_SUBJECTS = frozenset(
    "it this that these those there he she they we you everyone nobody people someone "
    "the assistant".split()
)
EN_PRONOUN_OBJECT = re.compile(r"(?:it|that|this|them|those|these|one)\b", re.I)
EN_PAST = re.compile(r"\bused to\b|\bas a (?:kid|child)\b|\bback then\b", re.I)
EN_SPLIT = re.compile(r"(?<=[.!?])\s+")
EN_CLAUSE = re.compile(r",\s*(?:and|but|so|while|though)\s+|;\s*|\s+(?:and|but)\s+(?=the user\b)")
DIET = re.compile(r"vegetarian|vegan|pescatarian|keto|\bdiet\b|吃素|素食|节食", re.I)
CHANGE = re.compile(
    r"现在|如今|改|换|不再|now\b|instead|anymore|these days|no longer|switched", re.I
)


@dataclass(frozen=True)
class Stance:
    liking: bool
    subject: str
    object: str


def _zh_preferences(text: str) -> list[str]:
    found = []
    for sentence in ZH_SPLIT.split(text):
        if sentence.rstrip().endswith(("？", "?")):
            continue
        for clause in ZH_CLAUSE.split(sentence):
            clause = ZH_LEADING.sub("", clause.strip(" 。！!；;"))
            if ZH_PAST.search(clause) or ZH_PLAN.search(clause) or not ZH_STANCE.search(clause):
                continue
            stance = zh_stance(clause)
            if stance is not None and stance.object:
                found.append(clause if "用户" in clause else "用户" + clause)
    return found


def zh_stance(text: str) -> Stance | None:
    match = ZH_STANCE.search(text)
    if match is None:
        return None
    subject = text[: match.start()].replace("现在", "").strip() or "用户"
    if match.group("allergen"):
        return Stance(False, subject, match.group("allergen"))
    obj = re.sub(r"^(?:吃|喝|用|住|选)|[了的啦呢吧。！!]+$", "", text[match.end() :].strip())
    return Stance(bool(match.group("positive")), subject, obj)


def _en_preferences(text: str) -> list[str]:
    found = []
    for sentence in EN_SPLIT.split(text):
        if sentence.rstrip().endswith("?"):
            continue
        subject = None
        for clause in EN_CLAUSE.split(sentence):
            clause = clause.strip(" .!")
            stance = en_stance(clause)
            if (
                stance is None
                and subject
                and re.match(rf"(?:{_EN_POSITIVE}|{_EN_NEGATIVE})\b", clause)
            ):
                clause = f"{subject} {clause}"  # "…, and loves sushi"
                stance = en_stance(clause)
            if stance is None or EN_PAST.search(clause) or not words(stance.object):
                continue
            subject = stance.subject
            match = _en_match(clause)
            # "Agatha Christie is the user's favourite author": what the favourite is comes first
            favourite = match is not None and match.re is EN_FAVOURITE
            statement = clause if favourite else clause[clause.find(stance.subject) :]
            found.append(statement[:1].upper() + statement[1:] + ".")
    return found


def _en_match(text: str) -> re.Match[str] | None:
    """The first stance the text takes: a verb of liking, or a favourite."""
    found = [m for m in (EN_STANCE.search(text), EN_FAVOURITE.search(text)) if m is not None]
    return min(found, key=lambda m: m.start()) if found else None


def en_stance(text: str) -> Stance | None:
    match = _en_match(text)
    if match is None or match.group("subject").lower() in EN_NOT_SUBJECTS:
        return None
    groups = match.groupdict()
    verb = groups.get("negative") or groups.get("positive") or ""
    obj = match.group("object").strip(" .!")
    if EN_PRONOUN_OBJECT.match(obj):
        return None  # "doesn't drink it anymore": what "it" is, the clause does not say
    if DIET.search(verb) or not obj:  # "is vegetarian": the stance is its own object
        obj = verb
    return Stance(not groups.get("negative"), match.group("subject"), obj)


def stance(text: str) -> Stance | None:
    return zh_stance(text) if language(text) == "zh" else en_stance(text)


def preferences_of(memories: list[ExtractedMemory]) -> list[ExtractedMemory]:
    """The preferences the user's memories state, each a memory of kind explicit_preference
    with its fact's sources and time (once each)."""
    found: dict[str, ExtractedMemory] = {}
    for memory in memories:
        if memory.speaker != "user" or memory.kind != "fact":
            continue
        lang = language(memory.value)
        text = ATTRIBUTION.sub("", memory.value)
        for preference in _zh_preferences(text) if lang == "zh" else _en_preferences(text):
            found.setdefault(
                preference,
                replace(
                    memory,
                    key=preference.rstrip(".")[: 30 if lang == "zh" else 80],
                    value=preference,
                    tags=keywords(preference, 5),
                    context="",
                    kind=EXPLICIT,
                ),
            )
    return list(found.values())


def _same(a: str, b: str) -> bool:
    """Two objects name the same thing: most of their words (Chinese: character pairs) shared,
    or one within the other."""
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    if language(a + b) == "zh":
        left = {a[i : i + 2] for i in range(len(a) - 1)}
        right = {b[i : i + 2] for i in range(len(b) - 1)}
    else:
        left, right = set(words(a)), set(words(b))
    union = left | right
    return bool(union) and len(left & right) / len(union) >= 0.5


def _head(obj: str) -> str:
    """What kind of thing the object is: its last word (Chinese: last two characters); every
    diet is a diet."""
    if DIET.search(obj):
        return "diet"
    if language(obj) == "zh":
        return re.sub(r"[了的啦呢吧]+$", "", obj)[-2:]
    found = words(re.split(r",|\b(?:when|while|because|if|than|over|on|in|at|for)\b", obj)[0])
    return found[-1] if found else ""


def opposed(newer: str, older: str) -> bool:
    """Whether the newer preference makes the older one outdated: the other stance on the same
    object, or, in words of change, another object of the same kind."""
    new, old = stance(newer), stance(older)
    if new is None or old is None or new.subject.lower() != old.subject.lower():
        return False
    if new.liking != old.liking:
        return _same(new.object, old.object)
    return (
        bool(CHANGE.search(newer))
        and not _same(new.object, old.object)
        and _head(new.object) != ""
        and _head(new.object) == _head(old.object)
    )
