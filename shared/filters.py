"""The search/get/delete `filter`: parsed once, compiled to SQL and to Qdrant.

Shape: {"and"|"or": [condition, ...]} where a condition is {"agent_id": "x"},
{"app_id": "x"}, {"info.<key>": scalar}, {"tags": {"contains": "x"}} or
{"create_time"|"update_time": {"gt"|"gte"|"lt"|"lte": epoch_ms or "YYYY-MM-DD[ HH:MM:SS]"}}.

Whatever parses here compiles in both stores and means the same in both, so a request that
reaches SQL or Qdrant cannot fail there: the limits below are checked first.
"""

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, overload

from shared.errors import InvalidParameter, echo

RANGE_OPS = ("gt", "gte", "lt", "lte")
TIME_FIELDS = ("create_time", "update_time")
# SQLite nests `a OR b OR ...` one level per term and refuses past 1,000 levels.
MAX_CONDITIONS = 100
# Years 0001 to 9999, the span of "YYYY-MM-DD" dates.
MIN_EPOCH_MS = int(datetime(1, 1, 1, tzinfo=UTC).timestamp() * 1000)
MAX_EPOCH_MS = int(datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC).timestamp() * 1000)
INT64 = (-(2**63), 2**63 - 1)  # integers SQL and Qdrant both store
# Qdrant's JSON paths quote a key in "..." with no escapes: keys with these cannot be named.
UNQUOTABLE = ('"', "\\")


@dataclass(frozen=True)
class Condition:
    field: str  # agent_id | app_id | info.<key> | tags | create_time | update_time
    op: Literal["eq", "contains", "gt", "gte", "lt", "lte", "in"]
    value: Any  # "in": a tuple of strings

    @property
    def info_key(self) -> str | None:
        """The key of `info` this condition tests, whole: dots are part of the key."""
        return self.field[5:] if self.field.startswith("info.") else None

    @property
    def payload_key(self) -> str:
        """The field as a Qdrant payload path: an info key quoted, so `info.a.b` is the key
        "a.b" as in SQL, not a nested "b"."""
        key = self.info_key
        return self.field if key is None else f'info."{key}"'


@dataclass(frozen=True)
class MemoryFilter:
    mode: Literal["and", "or"]
    conditions: tuple[Condition, ...]
    # Conditions every memory meets beside the client's filter: a request's agent_id and
    # app_id, each "in" the values it names.
    scope: tuple[Condition, ...] = ()
    # Beside the user's own memories, those other users shared with one of these audiences
    # (Memory.shared_with): "public", or a knowledge base's "kb:<id>". Search only.
    audiences: tuple[str, ...] = ()

    @classmethod
    def of(cls, raw: dict[str, Any]) -> "MemoryFilter":
        """A filter as `asdict` wrote it (sent to a retriever process)."""

        def read(items: list[dict[str, Any]]) -> tuple[Condition, ...]:
            return tuple(
                Condition(c["field"], c["op"], tuple(c["value"]) if c["op"] == "in" else c["value"])
                for c in items
            )

        return cls(
            raw["mode"],
            read(raw["conditions"]),
            read(raw.get("scope", [])),
            tuple(raw.get("audiences", ())),
        )


MAX_SCOPE = 100  # values of one scoping field (agent_id, app_id)


def scoped(flt: MemoryFilter | None, **fields: str | list[str] | None) -> MemoryFilter | None:
    """`flt` narrowed to memories whose field is one of the values given (a value or a list;
    None or empty: not narrowed)."""
    scope = []
    for field, given in fields.items():
        values = [given] if isinstance(given, str) else list(given or [])
        if len(values) > MAX_SCOPE:
            raise _bad(f"'{field}' names {len(values)} values; the limit is {MAX_SCOPE}")
        if values:
            scope.append(Condition(field, "in", tuple(_checked_text(field, v) for v in values)))
    if not scope:
        return flt
    return replace(flt or MemoryFilter("and", ()), scope=tuple(scope))


def shared_with(flt: MemoryFilter | None, audiences: list[str]) -> MemoryFilter:
    """`flt` widened to the memories other users shared with `audiences`."""
    return replace(flt or MemoryFilter("and", ()), audiences=tuple(audiences))


def _bad(reason: str, field: str = "filter") -> InvalidParameter:
    return InvalidParameter(field, reason)


def _to_epoch_ms(field: str, value: Any) -> int:
    if isinstance(value, bool):
        raise _bad(f"'{field}' bounds must be epoch milliseconds or 'YYYY-MM-DD HH:MM:SS'")
    if isinstance(value, int | float):
        if not (isinstance(value, int) or math.isfinite(value)) or not (
            MIN_EPOCH_MS <= value <= MAX_EPOCH_MS
        ):
            raise _bad(
                f"'{field}' bound {echo(value)} is outside epoch milliseconds "
                f"{MIN_EPOCH_MS} to {MAX_EPOCH_MS} (years 1 to 9999)"
            )
        return int(value)
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
            try:
                parsed = datetime.strptime(value, fmt).replace(tzinfo=UTC)
                return int(parsed.timestamp() * 1000)
            except ValueError:
                continue
    raise _bad(f"cannot read '{field}' bound {echo(value)}")


def _checked_text(field: str, value: str) -> str:
    """Text SQL can bind: PostgreSQL refuses NUL, and a lone surrogate is no UTF-8 at all
    (neither can be in what was stored)."""
    if "\x00" in value or not _encodes(value):
        raise _bad(f"'{echo(field)}' contains a NUL character or a lone surrogate")
    return value


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _checked_scalar(field: str, value: Any) -> Any:
    """A value both stores hold as it was sent: text SQL can bind, finite floats, 64-bit
    integers."""
    if isinstance(value, dict | list) or value is None:
        raise _bad(f"'{echo(field)}' takes a single value")
    if isinstance(value, str):
        return _checked_text(field, value)
    if isinstance(value, float) and not math.isfinite(value):
        raise _bad(f"'{echo(field)}' takes a finite number, not {value}")
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not (INT64[0] <= value <= INT64[1])
    ):
        raise _bad(f"'{echo(field)}' takes integers of 64 bits at most")
    return value


def _parse_condition(raw: Any) -> list[Condition]:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise _bad("each condition must be an object with one field")
    ((field, value),) = raw.items()
    if field in ("and", "or"):
        raise _bad("nested and/or groups are not supported")
    if field in ("agent_id", "app_id"):
        if not isinstance(value, str):
            raise _bad(f"'{field}' takes a string")
        return [Condition(field, "eq", _checked_text(field, value))]
    if field.startswith("info.") and len(field) > 5:
        if any(char in field for char in UNQUOTABLE):
            raise _bad(f"'{echo(field)}': info keys cannot contain '\"' or '\\'")
        return [Condition(_checked_text(field, field), "eq", _checked_scalar(field, value))]
    if field == "tags":
        if (
            not isinstance(value, dict)
            or set(value) != {"contains"}
            or not isinstance(value["contains"], str)
        ):
            raise _bad('\'tags\' takes {"contains": "tag"}')
        return [Condition("tags", "contains", _checked_text("tags", value["contains"]))]
    if field in TIME_FIELDS:
        if not isinstance(value, dict) or not value or not set(value) <= set(RANGE_OPS):
            raise _bad(f"'{field}' takes an object of {', '.join(RANGE_OPS)}")
        return [Condition(field, op, _to_epoch_ms(field, bound)) for op, bound in value.items()]
    raise _bad(f"unknown field '{echo(field)}'")


@overload
def parse_filter(raw: dict[str, Any]) -> MemoryFilter: ...
@overload
def parse_filter(raw: None) -> None: ...
@overload
def parse_filter(raw: dict[str, Any] | None) -> MemoryFilter | None: ...


def parse_filter(raw: dict[str, Any] | None) -> MemoryFilter | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in ("and", "or"):
        raise _bad('must be {"and": [...]} or {"or": [...]}')
    ((key, items),) = raw.items()
    mode: Literal["and", "or"] = "and" if key == "and" else "or"
    if not isinstance(items, list) or not items:
        raise _bad(f"'{mode}' must hold a non-empty list of conditions")
    if len(items) > MAX_CONDITIONS:
        raise _bad(f"'{mode}' holds {len(items)} conditions; the limit is {MAX_CONDITIONS}")
    conditions = tuple(c for item in items for c in _parse_condition(item))
    return MemoryFilter(mode, conditions)
