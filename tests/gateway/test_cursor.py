"""The cursors round-trip their position exactly and reject anything they did not make: another
sort, another filter set, another conversation, or anything malformed."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from sportello.http.problems import InvalidRequest
from sportello_gateway import cursor

MOMENT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
FILTERS = cursor.fingerprint({"status": "open", "tags": ["a", "b"]})


@pytest.mark.parametrize("position", [
    cursor.Position(sort="priority", at=MOMENT, id=uuid.uuid4(), priority=0.1 + 0.2),
    cursor.Position(sort="sla_deadline", at=MOMENT, id=uuid.uuid4()),
    cursor.Position(sort="sla_deadline", at=None, id=uuid.uuid4()),  # among the NULL deadlines
    cursor.Position(sort="last_message_at", at=MOMENT, id=uuid.uuid4()),
])
def test_round_trip_is_exact(position: cursor.Position) -> None:
    text = cursor.encode(position, FILTERS)
    assert "=" not in text and "+" not in text and "/" not in text
    assert cursor.decode(text, sort=position.sort, filters_fingerprint=FILTERS) == position


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    assert cursor.fingerprint({"a": 1, "b": [1]}) == cursor.fingerprint({"b": [1], "a": 1})
    assert cursor.fingerprint({"a": 1}) != cursor.fingerprint({"a": 2})


def test_a_cursor_of_another_sort_or_filter_set_is_refused() -> None:
    text = cursor.encode(cursor.Position(sort="priority", at=MOMENT, id=uuid.uuid4(),
                                        priority=5.0), FILTERS)
    with pytest.raises(InvalidRequest, match="another sort"):
        cursor.decode(text, sort="last_message_at", filters_fingerprint=FILTERS)
    with pytest.raises(InvalidRequest, match="other filters"):
        cursor.decode(text, sort="priority", filters_fingerprint=cursor.fingerprint({}))


def test_timeline_cursor_round_trips_and_belongs_to_one_conversation() -> None:
    conversation_id = uuid.uuid4()
    text = cursor.encode_timeline(MOMENT, 3, 17, conversation_id)
    assert cursor.decode_timeline(text, conversation_id) == (MOMENT, 3, 17)
    with pytest.raises(InvalidRequest, match="another conversation"):
        cursor.decode_timeline(text, uuid.uuid4())


def _b64(payload: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _priority(**changes: Any) -> str:
    payload = {"s": "priority", "f": FILTERS, "t": "2026-01-01T00:00:00+00:00",
               "i": str(uuid.uuid4()), "p": 1, **changes}
    return _b64(payload)


@pytest.mark.parametrize("text", [
    "not base64 at all!",
    _b64(b"\xff\xfe"),
    _b64([1, 2]),
    _b64({"p": 1, "o": "2026-01-01T00:00:00+00:00", "i": str(uuid.uuid4())}),  # the old format
    _priority(p="high"),
    _priority(p=True),
    _b64(b'{"s": "priority", "f": "' + FILTERS.encode() + b'", "t": "2026-01-01T00:00:00+00:00",'
         b' "i": "' + str(uuid.uuid4()).encode() + b'", "p": NaN}'),
    _b64(b'{"s": "priority", "f": "' + FILTERS.encode() + b'", "t": "2026-01-01T00:00:00+00:00",'
         b' "i": "' + str(uuid.uuid4()).encode() + b'", "p": 1' + b"0" * 400 + b"}"),
    _priority(t="2026-01-01T00:00:00"),  # no offset
    _priority(t=None),  # only the SLA sort has NULL positions
    _priority(t="0001-01-01T00:00:00+14:00"),  # out of range once in UTC
    _priority(t="9999-12-31T23:59:59-14:00"),
    _priority(i=7),
])
def test_malformed_cursors_are_invalid_requests(text: str) -> None:
    with pytest.raises(InvalidRequest):
        cursor.decode(text, sort="priority", filters_fingerprint=FILTERS)


@pytest.mark.parametrize("payload", [
    {"c": "x", "t": "2026-01-01T00:00:00+00:00", "q": 1, "n": 1},
    {"t": "2026-01-01T00:00:00+00:00", "q": -1, "n": 1},
    {"t": "2026-01-01T00:00:00+00:00", "q": 1, "n": 2**63},
    {"t": None, "q": 1, "n": 1},
    {"t": "2026-01-01T00:00:00+00:00", "q": 1.5, "n": 1},
])
def test_malformed_timeline_cursors_are_invalid_requests(payload: dict[str, Any]) -> None:
    conversation_id = uuid.uuid4()
    payload.setdefault("c", str(conversation_id))
    with pytest.raises(InvalidRequest):
        cursor.decode_timeline(_b64(payload), conversation_id)
