"""Per-project usage of the API, counted in memory by a gateway process until it is written to
SQL (services/gateway/usage.py): requests, adds, searches and errors by project and hour, and
when each API key was last used.

The request metrics middleware (shared/metrics.py) records every request the auth dependency
attributed to a project (`request.state.project_id`, `request.state.key_id`), with the same
kinds as the `memos_project_requests_total` counter."""

import threading
from dataclasses import dataclass, field

HOUR_MS = 3_600_000
# The counter's `kind` label, and the `usage` column each one adds to.
COLUMNS = {"request": "requests", "add": "adds", "search": "searches", "error": "errors"}
ADD_PATHS = ("/add/message", "/add/feedback")
SEARCH_PATHS = ("/search/memory",)


def hour_of(ms: int) -> int:
    """The first epoch millisecond of the (UTC) hour that `ms` falls in."""
    return ms - ms % HOUR_MS


def kinds_of(path: str, status: int) -> tuple[str, ...]:
    """What an attributed request counts as: always a request; an add or a search by its
    path (answered or not); an error when its HTTP status is 400 or more."""
    kinds = ["request"]
    if path.endswith(ADD_PATHS):
        kinds.append("add")
    elif path.endswith(SEARCH_PATHS):
        kinds.append("search")
    if status >= 400:
        kinds.append("error")
    return tuple(kinds)


@dataclass
class Counts:
    """(project, hour) -> [requests, adds, searches, errors], in COLUMNS' order; key id ->
    its last use (epoch ms)."""

    hours: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.hours or self.keys)

    def add(self, other: "Counts") -> None:
        for slot, counts in other.hours.items():
            mine = self.hours.setdefault(slot, [0] * len(COLUMNS))
            for i, count in enumerate(counts):
                mine[i] += count
        for key_id, used in other.keys.items():
            self.keys[key_id] = max(used, self.keys.get(key_id, used))


_INDEX = {kind: i for i, kind in enumerate(COLUMNS)}


class UsageCounts:
    """The counts of one process not written to SQL yet. Thread-safe: requests record on the
    event loop, the flusher takes them from its own thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = Counts()
        # Held by a flush from taking the counts until they are in SQL or given back, and by
        # a reader of SQL and the counts, which so sees every count once.
        self.flushing = threading.Lock()

    def record(self, project_id: str, key_id: str | None, kinds: tuple[str, ...], at: int) -> None:
        with self._lock:
            counts = self._counts.hours.setdefault((project_id, hour_of(at)), [0] * len(COLUMNS))
            for kind in kinds:
                counts[_INDEX[kind]] += 1
            if key_id is not None:
                self._counts.keys[key_id] = max(at, self._counts.keys.get(key_id, at))

    def take(self) -> Counts:
        """Everything counted so far; counting starts again from nothing."""
        with self._lock:
            taken, self._counts = self._counts, Counts()
            return taken

    def give_back(self, taken: Counts) -> None:
        """Counts a flush could not write, for the next one."""
        with self._lock:
            self._counts.add(taken)

    def key_uses(self) -> dict[str, int]:
        """Each key's last use counted here and not flushed yet."""
        with self._lock:
            return dict(self._counts.keys)

    def of_project(self, project_id: str) -> dict[int, list[int]]:
        """hour -> [requests, adds, searches, errors] of one project."""
        with self._lock:
            return {
                hour: list(counts)
                for (project, hour), counts in self._counts.hours.items()
                if project == project_id
            }
