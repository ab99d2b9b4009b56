"""Per-project usage: what a request counts as, the hour it goes to, the counts kept in memory,
and the last day's 24 buckets read back from SQL and memory."""

from pathlib import Path

from services.gateway.usage import flush, last_day
from shared.db.models import Base, Usage
from shared.db.session import Database
from shared.usage import HOUR_MS, UsageCounts, hour_of, kinds_of

NOON = 1_767_268_800_000  # 2026-01-01 12:00:00 UTC


def test_hours_start_on_the_utc_hour() -> None:
    assert NOON % HOUR_MS == 0
    assert hour_of(NOON) == NOON
    assert hour_of(NOON + HOUR_MS - 1) == NOON
    assert hour_of(NOON + HOUR_MS) == NOON + HOUR_MS
    assert hour_of(NOON - 1) == NOON - HOUR_MS


def test_kinds_by_path_and_status() -> None:
    api = "/api/openmem/v1"
    assert kinds_of(f"{api}/add/message", 200) == ("request", "add")
    assert kinds_of(f"{api}/add/feedback", 200) == ("request", "add")
    assert kinds_of(f"{api}/search/memory", 200) == ("request", "search")
    assert kinds_of(f"{api}/search/memory", 400) == ("request", "search", "error")
    assert kinds_of(f"{api}/get/message", 503) == ("request", "error")
    assert kinds_of(f"{api}/add/knowledgebase-file", 200) == ("request",)
    assert kinds_of(f"{api}/get/memory", 399) == ("request",)


def test_counts_taken_and_given_back() -> None:
    counts = UsageCounts()
    counts.record("a", "k1", ("request", "add"), NOON + 5)
    counts.record("a", "k1", ("request", "error"), NOON + 1)
    counts.record("a", None, ("request",), NOON + HOUR_MS)
    counts.record("b", "k2", ("request", "search"), NOON)
    assert counts.of_project("a") == {NOON: [2, 1, 0, 1], NOON + HOUR_MS: [1, 0, 0, 0]}
    taken = counts.take()
    assert taken.keys == {"k1": NOON + 5, "k2": NOON}  # the latest use, whatever the order
    assert not counts.take() and counts.of_project("a") == {}
    counts.record("a", "k1", ("request",), NOON + 3)
    counts.give_back(taken)  # a failed flush: its counts join those counted since
    assert counts.of_project("a") == {NOON: [3, 1, 0, 1], NOON + HOUR_MS: [1, 0, 0, 0]}
    assert counts.take().keys == {"k1": NOON + 5, "k2": NOON}


def test_last_day_has_24_zero_filled_hours_of_sql_and_memory(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'usage.db'}")
    Base.metadata.create_all(db.engine)
    try:
        now = NOON + 30 * 60_000
        with db.transaction() as session:
            for hour, requests in [
                (NOON - 24 * HOUR_MS, 100),  # a day ago: out
                (NOON - 23 * HOUR_MS, 7),  # the oldest bucket
                (NOON, 2),
                (NOON + HOUR_MS, 1000),  # after now: out
            ]:
                session.add(
                    Usage(
                        project_id="p", hour=hour, requests=requests, adds=1, searches=0, errors=0
                    )
                )
            session.add(Usage(project_id="other", hour=NOON, requests=50, adds=0))
        counts = UsageCounts()
        counts.record("p", None, ("request", "search", "error"), now)  # not flushed yet

        day = last_day(db, counts, "p", now)
        hours = day["hours"]
        assert len(hours) == 24
        assert [h["hour"] for h in hours] == [NOON - (23 - i) * HOUR_MS for i in range(24)]
        assert hours[0] == {
            "hour": NOON - 23 * HOUR_MS,
            "requests": 7,
            "adds": 1,
            "searches": 0,
            "errors": 0,
        }
        assert hours[-1] == {"hour": NOON, "requests": 3, "adds": 1, "searches": 1, "errors": 1}
        assert all(h["requests"] == 0 for h in hours[1:-1])
        assert day["totals"] == {"requests": 10, "adds": 2, "searches": 1, "errors": 1}

        assert flush(db, counts)  # into SQL: counted once still
        assert last_day(db, counts, "p", now) == day
        with db.session() as session:
            assert session.get(Usage, ("p", NOON)).requests == 3  # type: ignore[union-attr]
    finally:
        db.close()
