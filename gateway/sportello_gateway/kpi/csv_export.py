"""The per-conversation CSV export: one row per fact row, written row by row as it streams."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

COLUMNS = (
    "conversation_id", "customer_id", "channel", "channel_count", "team", "agent_id", "status",
    "opened_at", "first_inbound_at", "first_response_at", "first_response_seconds",
    "next_response_count", "next_response_seconds_mean", "resolved_at", "resolution_seconds",
    "reopen_count", "assignment_count", "handle_seconds", "inbound_count", "outbound_count",
    "sla_first_response_met", "sla_resolution_met", "first_sentiment", "last_sentiment",
    "csat_score", "csat_comment",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe(value: Any) -> str:
    """A cell as text; one a spreadsheet would take for a formula gets a leading quote. Numbers
    are written by us and stay as they are (a negative number is not a formula)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def row_cells(row: RowMapping) -> list[str]:
    nexts = row["next_response_seconds"] or []
    values = {
        **{name: row[name] for name in COLUMNS if name in row},
        "conversation_id": row["id"],
        "next_response_count": len(nexts),
        "next_response_seconds_mean": sum(nexts) / len(nexts) if nexts else None,
    }
    return [safe(values.get(name)) for name in COLUMNS]


def _line(cells: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


async def lines(rows: AsyncIterator[RowMapping]) -> AsyncIterator[str]:
    yield _line(COLUMNS)
    async for row in rows:
        yield _line(row_cells(row))
