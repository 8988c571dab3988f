"""The cursor round-trips its position exactly and rejects anything it did not make."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest

from sportello.http.problems import InvalidRequest
from sportello_gateway import cursor


def test_round_trip_is_exact() -> None:
    position = cursor.Position(priority=0.1 + 0.2, opened_at=datetime(2026, 1, 2, 3, 4, 5, 678901,
                                                                        tzinfo=UTC),
                               id=uuid.uuid4())
    text = cursor.encode(position)
    assert "=" not in text and "+" not in text and "/" not in text
    assert cursor.decode(text) == position


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize("text", [
    "not base64 at all!",
    _b64(b"\xff\xfe"),
    _b64(b"[1, 2]"),
    _b64(b'{"p": 1, "o": "2026-01-01T00:00:00+00:00"}'),
    _b64(b'{"p": "high", "o": "2026-01-01T00:00:00+00:00", "i": "' + str(uuid.uuid4()).encode()
         + b'"}'),
    _b64(b'{"p": NaN, "o": "2026-01-01T00:00:00+00:00", "i": "' + str(uuid.uuid4()).encode()
         + b'"}'),
    _b64(b'{"p": 1, "o": "2026-01-01T00:00:00", "i": "' + str(uuid.uuid4()).encode() + b'"}'),
    _b64(b'{"p": 1, "o": "2026-01-01T00:00:00+00:00", "i": 7}'),
])
def test_malformed_cursors_are_invalid_requests(text: str) -> None:
    with pytest.raises(InvalidRequest):
        cursor.decode(text)
