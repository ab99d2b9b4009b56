"""Per-project usage in SQL: a gateway process's counts (shared/usage.py) written every
USAGE_FLUSH_SECONDS and at shutdown, and the last day of a project read back.

A flush adds to the stored rows (INSERT ... ON CONFLICT DO UPDATE SET requests =
usage.requests + excluded.requests, ...) and moves each key's last use forward only
(greatest of stored and new), so any number of gateway processes flush into the same rows.
Rows and keys are written in one order, so two flushes never wait on each other's locks in
a cycle. A flush that fails gives its counts back for the next one."""

import logging
import threading
from typing import Any

from sqlalchemy import BigInteger, Connection, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from shared.db.models import ApiKey, Usage
from shared.db.session import Database
from shared.usage import COLUMNS, HOUR_MS, Counts, UsageCounts, hour_of

log = logging.getLogger(__name__)
HOURS = 24


def write(connection: Connection, counts: Counts) -> None:
    """Adds `counts` to the `usage` rows and the keys' last use, in the caller's transaction."""
    postgres = connection.dialect.name == "postgresql"
    if counts.hours:
        table = Usage.__table__
        insert = (postgresql if postgres else sqlite).insert(table)
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.project_id, table.c.hour],
            set_={name: table.c[name] + insert.excluded[name] for name in COLUMNS.values()},
        )
        rows = [
            {"project_id": project, "hour": hour, **dict(zip(COLUMNS.values(), sums, strict=True))}
            for (project, hour), sums in sorted(counts.hours.items())
        ]
        connection.execute(statement, rows)
    if counts.keys:
        later = func.greatest if postgres else func.max  # SQLite's max of two is GREATEST
        connection.execute(
            update(ApiKey)
            .where(ApiKey.id == bindparam("key_id"))
            .values(
                last_use_time=later(
                    func.coalesce(ApiKey.last_use_time, 0), bindparam("used", type_=BigInteger)
                )
            ),
            [{"key_id": key_id, "used": used} for key_id, used in sorted(counts.keys.items())],
        )


def flush(db: Database, counts: UsageCounts) -> bool:
    """Writes what `counts` holds; False when the database refused it, which is then kept
    for the next flush."""
    with counts.flushing:
        taken = counts.take()
        if not taken:
            return True
        try:
            with db.core_transaction() as connection:
                write(connection, taken)
        except Exception as exc:
            counts.give_back(taken)
            log.warning(
                "usage not written, kept for the next flush",
                extra={"error": str(exc), "hours": len(taken.hours), "keys": len(taken.keys)},
            )
            return False
    return True


class UsageFlusher:
    """The gateway process's thread that flushes its counts every `interval` seconds, and a
    last time when it stops."""

    def __init__(self, db: Database, counts: UsageCounts, interval: float) -> None:
        self._db, self._counts = db, counts
        self._interval = max(interval, 0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="usage-flusher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if not flush(self._db, self._counts):
            log.warning("usage of the last seconds lost: the database refused it at shutdown")

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            flush(self._db, self._counts)


def _bucket(hour: int, sums: list[int]) -> dict[str, int]:
    return {"hour": hour, **dict(zip(COLUMNS.values(), sums, strict=True))}


def last_day(db: Database, counts: UsageCounts, project_id: str, now_ms: int) -> dict[str, Any]:
    """The project's usage in the 24 hours up to `now_ms` (the current one last): {"hours":
    [{hour, requests, adds, searches, errors}, ...] oldest first, zero-filled, `hour` the
    hour's first epoch millisecond (UTC); "totals": {requests, adds, searches, errors} over
    them}. With this process's counts not flushed yet; other gateway processes' show once
    they flush. Call it outside a transaction of `db`."""
    last = hour_of(now_ms)
    first = last - (HOURS - 1) * HOUR_MS
    sums = {first + i * HOUR_MS: [0] * len(COLUMNS) for i in range(HOURS)}
    with counts.flushing:  # not while a flush moves counts from memory to SQL
        with db.session() as session:
            rows = session.execute(
                select(Usage.hour, Usage.requests, Usage.adds, Usage.searches, Usage.errors).where(
                    Usage.project_id == project_id, Usage.hour >= first, Usage.hour <= last
                )
            ).all()
        pending = counts.of_project(project_id)
    for hour, *stored in rows:
        sums[hour] = [a + b for a, b in zip(sums[hour], stored, strict=True)]
    for hour, unflushed in pending.items():
        if hour in sums:
            sums[hour] = [a + b for a, b in zip(sums[hour], unflushed, strict=True)]
    totals = [sum(column) for column in zip(*sums.values(), strict=True)]
    return {
        "hours": [_bucket(hour, sums[hour]) for hour in sorted(sums)],
        "totals": dict(zip(COLUMNS.values(), totals, strict=True)),
    }
