"""Readable output for the keylight command: aligned columns for lists, ``key: value`` lines
for one object. Scripts use ``--json`` instead."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

EMPTY = "-"


def cell(value: Any, name: str = "") -> str:
    """One value as text: null is "-", lists are comma-separated, Unix seconds in a ``*_at``
    field are an ISO time."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and name.endswith("_at") and value > 100_000_000:
        return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, list):
        return ", ".join(cell(item) for item in value) or EMPTY
    if isinstance(value, dict):
        return ", ".join(f"{key}={cell(item, key)}" for key, item in value.items()) or EMPTY
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[str]:
    """Plain aligned columns under an upper-case header."""
    cells = [[name.upper() for name in columns]]
    cells += [[cell(row.get(name), name) for name in columns] for row in rows]
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns))]
    return ["  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
            for line in cells]


def _is_rows(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict)
                                                           for item in value)


def _columns_of(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Every key of the rows, first seen first, leaving out nested lists and objects."""
    columns: list[str] = []
    for row in rows:
        for name, value in row.items():
            if name not in columns and not isinstance(value, (dict, list)):
                columns.append(name)
    return columns


def key_values(payload: dict[str, Any], indent: str = "") -> list[str]:
    """``key: value`` lines; nested objects indented below their key, lists of objects as
    an indented table."""
    lines: list[str] = []
    width = max((len(name) for name in payload), default=0) + 1
    for name, value in payload.items():
        if isinstance(value, dict) and value:
            lines.append(f"{indent}{name}:")
            lines += key_values(value, indent + "  ")
        elif _is_rows(value):
            lines.append(f"{indent}{name}:")
            lines += [indent + "  " + line for line in table(value, _columns_of(value))]
        else:
            lines.append(f"{indent}{(name + ':').ljust(width)} {cell(value, name)}")
    return lines
