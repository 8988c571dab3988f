"""Instants versus wall-clock times: one fixed rule for the hours that DST skips or repeats."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def as_utc(moment: datetime, name: str) -> datetime:
    """``moment`` as a UTC datetime; a naive datetime is refused because it names no instant."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{name} must be timezone-aware, got the naive datetime {moment.isoformat()}; "
            "attach a zone (e.g. tzinfo=UTC)")
    return moment.astimezone(UTC)


def wall_to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant at which clocks in ``zone`` show the naive wall time ``wall``.

    A wall time shown twice (the hour repeated when DST ends) means its first occurrence.
    A wall time never shown (the hour skipped when DST starts) means the instant the clock jumps,
    the first real moment after it: a shift 02:30-05:00 on that night opens when the clock reads 03:00.
    """
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap PEP 495 gives the two offsets around it; the jump lies between the two readings.
    other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return _offset_change(min(first, other), max(first, other), zone)


def _offset_change(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The first whole second in (before, after] that has ``after``'s UTC offset (tzdata transitions
    fall on whole seconds). A binary search: about 12 steps for a one-hour gap."""
    new_offset = after.astimezone(zone).utcoffset()
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == new_offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)
