"""Opaque keyset cursors: the last row's sort key, the sort and the filters, as base64url JSON.

A keyset cursor instead of an offset: a page costs the same wherever it is, and rows that move
while a client pages (a priority rises) cause no duplicates within what was already passed.
The cursor names its sort and a fingerprint of its filters, so one made for another sort or
filter set is refused (400) instead of silently skipping or repeating rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sportello.http.problems import InvalidRequest

Sort = Literal["priority", "sla_deadline", "last_message_at"]
SORTS: tuple[Sort, ...] = ("priority", "sla_deadline", "last_message_at")


@dataclass(frozen=True)
class Position:
    """Where a page ended. ``at`` is the sort's time: opened_at for the priority sort (priority
    DESC, opened_at, id), the deadline for sla_deadline (NULL sorts last), last_message_at."""

    sort: Sort
    at: datetime | None
    id: uuid.UUID
    priority: float | None = None


def fingerprint(filters: Mapping[str, Any]) -> str:
    """A short digest of the filter set a cursor was made under (order-insensitive)."""
    canonical = json.dumps(filters, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode(position: Position, filters_fingerprint: str) -> str:
    payload: dict[str, Any] = {"s": position.sort, "f": filters_fingerprint,
               "t": position.at.isoformat() if position.at is not None else None,
               "i": str(position.id)}
    if position.sort == "priority":
        payload["p"] = position.priority
    return _b64(payload)


def decode(cursor: str, *, sort: Sort, filters_fingerprint: str) -> Position:
    payload = _parse(cursor)
    if payload.get("s") != sort:
        raise InvalidRequest("The cursor was made for another sort; start again without one.")
    if payload.get("f") != filters_fingerprint:
        raise InvalidRequest("The cursor was made for other filters; start again without one.")
    try:
        at = _moment(payload["t"], nullable=sort == "sla_deadline")
        priority = _number(payload["p"]) if sort == "priority" else None
        return Position(sort=sort, at=at, id=uuid.UUID(payload["i"]), priority=priority)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise _invalid() from exc


def encode_timeline(occurred_at: datetime, sequence: int, position: int,
                    conversation_id: uuid.UUID) -> str:
    return _b64({"c": str(conversation_id), "t": occurred_at.isoformat(), "q": sequence,
                 "n": position})


def decode_timeline(cursor: str, conversation_id: uuid.UUID) -> tuple[datetime, int, int]:
    payload = _parse(cursor)
    if payload.get("c") != str(conversation_id):
        raise InvalidRequest("The cursor was made for another conversation; start again.")
    try:
        at = _moment(payload["t"], nullable=False)
        if at is None:
            raise ValueError("no time")
        return at, _bigint(payload["q"]), _bigint(payload["n"])
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise _invalid() from exc


def _b64(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        # JSONDecodeError and UnicodeDecodeError are ValueErrors: the client's mistake, not ours.
        raise _invalid() from exc
    if not isinstance(payload, dict):
        raise _invalid()
    return payload


def _moment(value: Any, *, nullable: bool) -> datetime | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise TypeError("not a time")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("no offset")
    # Near Python's limits an offset pushes the time out of range once converted (OverflowError).
    return moment.astimezone(UTC)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("not a number")
    number = float(value)  # OverflowError beyond a float's range
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def _bigint(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise ValueError("not a position")
    return value


def _invalid() -> InvalidRequest:
    return InvalidRequest("The cursor is not valid; start again without one.")
