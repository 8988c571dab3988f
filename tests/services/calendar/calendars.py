"""Shared calendars and shorthands for the SLA tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sportello.calendar import BusinessCalendar, Shift

ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = range(5)
EVERY_DAY = range(7)
EASTER_MONDAY_2025 = date(2025, 4, 21)
HOUR = 3600.0


def shifts(*spans: str) -> tuple[Shift, ...]:
    """shifts("09:00-13:00", "14:00-18:00")"""
    pairs = (span.split("-") for span in spans)
    return tuple(Shift(start=time.fromisoformat(start), end=time.fromisoformat(end)) for start, end in pairs)


def office(timezone: str = "Europe/Rome", *spans: str, days: Iterable[int] = WEEKDAYS,
           holidays: Iterable[date] = (), special_hours: dict[date, tuple[Shift, ...]] | None = None,
           ) -> BusinessCalendar:
    hours = shifts(*(spans or ("09:00-18:00",)))
    return BusinessCalendar(name="office", timezone=timezone, weekly={day: hours for day in days},
                            holidays=tuple(holidays), special_hours=special_hours or {})


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in ``zone`` (first occurrence if the hour repeats)."""
    return datetime(year, month, day, hour, minute, tzinfo=zone)
