"""Relative times made absolute from the message's chat_time: "上周六" said on 2025-06-11
becomes "上周六（2025-06-07）", "last Saturday" becomes "last Saturday (2025-06-07)", so a
memory keeps its date and "when did…" questions find it."""

import re
from collections.abc import Callable
from datetime import date, timedelta

ZH_DAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
EN_DAYS = {
    d: i
    for i, d in enumerate(
        ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    )
}
ZH_NUMBERS = {
    "一": 1,
    "两": 2,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month(day: date, delta: int) -> str:
    index = day.year * 12 + day.month - 1 + delta
    return f"{index // 12}-{index % 12 + 1:02d}"


def _number(text: str) -> int:
    return int(text) if text.isdigit() else ZH_NUMBERS.get(text, 1)


Resolver = Callable[[re.Match[str], date], str]
ZH_RULES: list[tuple[re.Pattern[str], Resolver]] = [
    (re.compile(r"大前天"), lambda m, d: str(d - timedelta(days=3))),
    (re.compile(r"前天"), lambda m, d: str(d - timedelta(days=2))),
    (re.compile(r"昨天|昨晚|昨日"), lambda m, d: str(d - timedelta(days=1))),
    (re.compile(r"今天|今晚|今日"), lambda m, d: str(d)),
    (re.compile(r"大后天"), lambda m, d: str(d + timedelta(days=3))),
    (re.compile(r"后天"), lambda m, d: str(d + timedelta(days=2))),
    (re.compile(r"明天|明晚|明日"), lambda m, d: str(d + timedelta(days=1))),
    (
        re.compile(r"(上|下|这|本)(?:个)?(?:周|星期|礼拜)([一二三四五六日天])"),
        lambda m, d: str(
            _monday(d)
            + timedelta(days={"上": -7, "下": 7}.get(m.group(1), 0) + ZH_DAYS[m.group(2)])
        ),
    ),
    (
        re.compile(r"(上|下)(?:个)?(?:周|星期|礼拜)(?![一二三四五六日天])"),
        lambda m, d: f"{_monday(d) + timedelta(days=-7 if m.group(1) == '上' else 7)}那一周",
    ),
    (
        re.compile(r"([0-9]+|[一两二三四五六七八九十])天(前|以前|之前|后|以后|之后)"),
        lambda m, d: str(
            d + timedelta(days=_number(m.group(1)) * (-1 if "前" in m.group(2) else 1))
        ),
    ),
    (
        re.compile(r"(上|下|这|本)个月"),
        lambda m, d: _month(d, {"上": -1, "下": 1}.get(m.group(1), 0)),
    ),
    (
        re.compile(r"(前|去|今|明)年"),
        lambda m, d: f"{d.year + {'前': -2, '去': -1, '今': 0, '明': 1}[m.group(1)]}年",
    ),
]
EN_RULES: list[tuple[re.Pattern[str], Resolver]] = [
    (re.compile(r"\bthe day before yesterday\b", re.I), lambda m, d: str(d - timedelta(days=2))),
    (re.compile(r"\byesterday\b|\blast night\b", re.I), lambda m, d: str(d - timedelta(days=1))),
    (re.compile(r"\btoday\b|\btonight\b|\bthis morning\b", re.I), lambda m, d: str(d)),
    (re.compile(r"\bthe day after tomorrow\b", re.I), lambda m, d: str(d + timedelta(days=2))),
    (re.compile(r"\btomorrow\b", re.I), lambda m, d: str(d + timedelta(days=1))),
    (
        re.compile(r"\blast (monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I),
        lambda m, d: str(
            d - timedelta(days=(d.weekday() - EN_DAYS[m.group(1).lower()] - 1) % 7 + 1)
        ),
    ),
    (
        re.compile(r"\bnext (monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I),
        lambda m, d: str(
            d + timedelta(days=(EN_DAYS[m.group(1).lower()] - d.weekday() - 1) % 7 + 1)
        ),
    ),
    (
        re.compile(r"\bthis (monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I),
        lambda m, d: str(_monday(d) + timedelta(days=EN_DAYS[m.group(1).lower()])),
    ),
    (
        re.compile(r"\b(\d+|a|one|two|three|four|five|six|seven) (day|week)s? ago\b", re.I),
        lambda m, d: str(
            d - timedelta(days=_en_number(m.group(1)) * (7 if m.group(2).lower() == "week" else 1))
        ),
    ),
    (
        re.compile(r"\b(last|next) week\b", re.I),
        lambda m, d: (
            "week of " + str(_monday(d) + timedelta(days=-7 if m.group(1).lower() == "last" else 7))
        ),
    ),
    (
        re.compile(r"\b(last|next|this) month\b", re.I),
        lambda m, d: _month(d, {"last": -1, "next": 1}.get(m.group(1).lower(), 0)),
    ),
    (
        re.compile(r"\b(last|next|this) year\b", re.I),
        lambda m, d: str(d.year + {"last": -1, "next": 1}.get(m.group(1).lower(), 0)),
    ),
]
EN_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


def _en_number(text: str) -> int:
    return int(text) if text.isdigit() else EN_NUMBERS[text.lower()]


def resolve_relative_times(text: str, said_on: date, lang: str) -> tuple[str, list[str]]:
    """Returns the text with each relative time followed by its absolute date, and those
    dates in order of appearance."""
    rules = ZH_RULES if lang == "zh" else EN_RULES
    spans: list[tuple[int, int, str]] = []
    # Characters already inside a resolved expression: a set, not a scan of every span
    # found (a 50k-character turn has thousands of 今天, and the scan took half a minute).
    covered: set[int] = set()
    for pattern, resolve in rules:
        for match in pattern.finditer(text):
            chars = range(match.start(), match.end())
            if not covered.isdisjoint(chars):
                continue  # a longer expression ("大前天") already covers this one ("前天")
            try:
                spans.append((match.start(), match.end(), resolve(match, said_on)))
            except (OverflowError, ValueError):
                continue  # beyond the calendar ("99999999 days ago"): left as it was said
            covered.update(chars)
    spans.sort()
    out, last = [], 0
    for _, end, resolved in spans:
        out.append(text[last:end])
        out.append(f"（{resolved}）" if lang == "zh" else f" ({resolved})")
        last = end
    out.append(text[last:])
    return "".join(out), [resolved for _, _, resolved in spans]
