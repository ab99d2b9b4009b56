"""`info.<key> == value` in SQL, for any key and with JSON's types kept apart.

A JSON path cannot name every key: SQLite compares a path's label with the key as stored,
escapes and all (a Chinese key, stored as \\uXXXX, is never found), and a cast such as
`CAST(info->>'a' AS INTEGER)` fails on PostgreSQL for a memory whose `a` is text. So the key
and the value are bound parameters, matched as the index matches them: text to text, true to
true, numbers by value (1 == 1.0).
"""

import json
from typing import Any

from sqlalchemy import Boolean, ColumnElement, SQLColumnExpression, literal
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles


class InfoEquals(ColumnElement[bool]):
    type = Boolean()
    inherit_cache = False  # no cache key: statements with it are compiled each time

    def __init__(self, column: SQLColumnExpression[Any], key: str, value: str | int | float | bool):
        self.column = column
        self.key = key
        self.value = value


def info_equals(
    column: SQLColumnExpression[Any], key: str, value: str | int | float | bool
) -> ColumnElement[bool]:
    return InfoEquals(column, key, value)


@compiles(InfoEquals, "sqlite")
def _sqlite(element: InfoEquals, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    key = compiler.process(literal(element.key), **kw)
    value = element.value
    if isinstance(value, bool):
        matches = f"type = '{'true' if value else 'false'}'"
    else:
        kind = "= 'text'" if isinstance(value, str) else "IN ('integer', 'real')"
        matches = f"type {kind} AND value = {compiler.process(literal(value), **kw)}"
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE key = {key} AND {matches})"


@compiles(InfoEquals, "postgresql")
def _postgresql(element: InfoEquals, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    wanted = compiler.process(literal(json.dumps({element.key: element.value})), **kw)
    return f"CAST({column} AS JSONB) @> CAST({wanted} AS JSONB)"


@compiles(InfoEquals)
def _other(element: InfoEquals, compiler: Any, **kw: Any) -> str:
    raise CompileError(
        f"info filters are compiled for SQLite and PostgreSQL only, not {compiler.dialect.name}"
    )
