from datetime import date

import pytest

from services.extractor.dates import resolve_relative_times

WEDNESDAY = date(2025, 6, 11)


@pytest.mark.parametrize(
    ("text", "lang", "dates"),
    [
        ("我上周六去了杭州", "zh", ["2025-06-07"]),
        ("这周五开会，下周一出差", "zh", ["2025-06-13", "2025-06-16"]),
        (
            "大前天和前天都下雨，昨天晴，明天后天放假",
            "zh",
            ["2025-06-08", "2025-06-09", "2025-06-10", "2025-06-12", "2025-06-13"],
        ),
        ("三天前买的书，10天后还", "zh", ["2025-06-08", "2025-06-21"]),
        ("上个月搬家，去年换了工作", "zh", ["2025-05", "2024年"]),
        ("last Saturday and last Wednesday", "en", ["2025-06-07", "2025-06-04"]),
        ("next Friday, this Sunday, tomorrow", "en", ["2025-06-13", "2025-06-15", "2025-06-12"]),
        (
            "two weeks ago, 3 days ago, the day before yesterday",
            "en",
            ["2025-05-28", "2025-06-08", "2025-06-09"],
        ),
        ("last month and next year", "en", ["2025-05", "2026"]),
        ("nothing relative here", "en", []),
    ],
)
def test_resolution(text: str, lang: str, dates: list[str]) -> None:
    rewritten, found = resolve_relative_times(text, WEDNESDAY, lang)
    assert found == dates
    for resolved in dates:
        assert resolved in rewritten


@pytest.mark.parametrize(
    ("text", "lang", "dates"),
    [
        (
            "I adopted my cat 99999999 days ago; the day before yesterday she was ill",
            "en",
            ["2025-06-09"],
        ),
        ("99999999天前买的书，前天看完", "zh", ["2025-06-09"]),
        ("9" * 5000 + " days ago, and yesterday", "en", ["2025-06-10"]),  # past int()'s digits
    ],
)
def test_a_date_beyond_the_calendar_is_left_as_said(text: str, lang: str, dates: list[str]) -> None:
    rewritten, found = resolve_relative_times(text, WEDNESDAY, lang)
    assert found == dates
    assert rewritten.startswith(text.split(" ")[0].split("天")[0])
    assert dates[0] in rewritten
