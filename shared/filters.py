"""The search/get/delete `filter`: parsed once, compiled to SQL and to Qdrant.

Shape: {"and"|"or": [condition, ...]} where a condition is {"agent_id": "x"},
{"app_id": "x"}, {"info.<key>": scalar}, {"tags": {"contains": "x"}} or
{"create_time"|"update_time": {"gt"|"gte"|"lt"|"lte": epoch_ms or "YYYY-MM-DD[ HH:MM:SS]"}}.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from shared.errors import InvalidParameter

RANGE_OPS = ("gt", "gte", "lt", "lte")
TIME_FIELDS = ("create_time", "update_time")


@dataclass(frozen=True)
class Condition:
    field: str  # agent_id | app_id | info.<key> | tags | create_time | update_time
    op: Literal["eq", "contains", "gt", "gte", "lt", "lte"]
    value: Any


@dataclass(frozen=True)
class MemoryFilter:
    mode: Literal["and", "or"]
    conditions: tuple[Condition, ...]


def _bad(reason: str) -> InvalidParameter:
    return InvalidParameter("filter", reason)


def _to_epoch_ms(value: Any) -> int:
    if isinstance(value, bool):
        raise _bad("time bounds must be epoch milliseconds or 'YYYY-MM-DD HH:MM:SS'")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
            try:
                parsed = datetime.strptime(value, fmt).replace(tzinfo=UTC)
                return int(parsed.timestamp() * 1000)
            except ValueError:
                continue
    raise _bad(f"cannot read time bound {value!r}")


def _parse_condition(raw: Any) -> list[Condition]:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise _bad("each condition must be an object with one field")
    (field, value), = raw.items()
    if field in ("and", "or"):
        raise _bad("nested and/or groups are not supported")
    if field in ("agent_id", "app_id") or field.startswith("info.") and len(field) > 5:
        if isinstance(value, dict | list) or value is None:
            raise _bad(f"'{field}' takes a single value")
        return [Condition(field, "eq", value)]
    if field == "tags":
        if not isinstance(value, dict) or set(value) != {"contains"} or not isinstance(
            value["contains"], str
        ):
            raise _bad("'tags' takes {\"contains\": \"tag\"}")
        return [Condition("tags", "contains", value["contains"])]
    if field in TIME_FIELDS:
        if not isinstance(value, dict) or not value or not set(value) <= set(RANGE_OPS):
            raise _bad(f"'{field}' takes an object of {', '.join(RANGE_OPS)}")
        return [Condition(field, op, _to_epoch_ms(bound)) for op, bound in value.items()]
    raise _bad(f"unknown field '{field}'")


def parse_filter(raw: dict[str, Any] | None) -> MemoryFilter | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in ("and", "or"):
        raise _bad("must be {\"and\": [...]} or {\"or\": [...]}")
    (mode, items), = raw.items()
    if not isinstance(items, list) or not items:
        raise _bad(f"'{mode}' must hold a non-empty list of conditions")
    conditions = tuple(c for item in items for c in _parse_condition(item))
    return MemoryFilter(mode, conditions)
