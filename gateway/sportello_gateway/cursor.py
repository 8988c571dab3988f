"""The list's opaque cursor: the last row's sort key, as base64url JSON.

A keyset cursor instead of an offset: a page costs the same wherever it is, and rows that move
while a client pages (a priority rises) cause no duplicates within what was already passed.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from sportello.http.problems import InvalidRequest


@dataclass(frozen=True)
class Position:
    priority: float
    opened_at: datetime
    id: uuid.UUID


def encode(position: Position) -> str:
    payload = {"p": position.priority, "o": position.opened_at.isoformat(), "i": str(position.id)}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        priority = payload["p"]
        if isinstance(priority, bool) or not isinstance(priority, int | float):
            raise TypeError("priority is not a number")
        if not math.isfinite(priority):
            raise ValueError("priority is not finite")
        opened_at = datetime.fromisoformat(payload["o"])
        if opened_at.tzinfo is None:
            raise ValueError("opened_at has no offset")
        return Position(priority=float(priority), opened_at=opened_at, id=uuid.UUID(payload["i"]))
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError) as exc:
        # Anything malformed (JSONDecodeError and UnicodeDecodeError are ValueErrors, a non-object
        # payload fails the lookups) is the client's mistake, not ours.
        raise InvalidRequest("The cursor is not valid; start again without one.") from exc
