"""The arithmetic behind ``BusinessCalendar``: business time as a stream of open spans of real time.

Each local date contributes the shifts that *start* on it (an overnight shift belongs to the evening it
starts, so a holiday cancels the night shift that begins on it). Walking dates one at a time keeps every
operation O(days spanned). Each shift's wall-clock edges are resolved to instants on their own date, so
DST is exact: a shift is open for the real time between its edges (09:00-18:00 is 9 hours on any day;
22:00-06:00 is 7 hours on the night clocks spring forward and 9 on the night they fall back).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sportello.calendar.wallclock import wall_to_instant

WallShift = tuple[time, time]  # (start, end) on a wall clock; end <= start ends on the next day
Span = tuple[datetime, datetime]  # [open, close) in UTC

ONE_DAY = timedelta(days=1)
NOTHING = timedelta(0)


@dataclass(frozen=True)
class Timeline:
    zone: ZoneInfo
    weekly: tuple[tuple[WallShift, ...], ...]  # index 0 = Monday .. 6 = Sunday, each sorted by start
    holidays: frozenset[date]
    special_hours: Mapping[date, tuple[WallShift, ...]]  # replace the weekly hours on those dates

    def shifts_on(self, day: date) -> tuple[WallShift, ...]:
        if day in self.special_hours:
            return self.special_hours[day]
        if day in self.holidays:
            return ()
        return self.weekly[day.weekday()]

    def spans_on(self, day: date) -> Iterator[Span]:
        for start, end in self.shifts_on(day):
            opens = wall_to_instant(datetime.combine(day, start), self.zone)
            closes = wall_to_instant(datetime.combine(day + ONE_DAY if end <= start else day, end), self.zone)
            if closes > opens:  # a shift wholly inside a skipped hour never opens
                yield opens, closes

    def spans_from(self, moment: datetime) -> Iterator[Span]:
        """The open spans that close after ``moment``, in order and disjoint. Endless: a valid calendar
        has weekly open time, and holidays are finite."""
        # A shift lasts at most 24 hours, so nothing that started before yesterday is still open.
        day = moment.astimezone(self.zone).date() - ONE_DAY
        latest_close: datetime | None = None
        while True:
            for opens, closes in self.spans_on(day):
                if latest_close is not None:
                    # Special hours may run into a neighbouring day's shift: count shared time once.
                    opens = max(opens, latest_close)
                    latest_close = max(latest_close, closes)
                else:
                    latest_close = closes
                if closes > opens and closes > moment:
                    yield opens, closes
            day += ONE_DAY

    def is_open(self, moment: datetime) -> bool:
        opens, _ = next(self.spans_from(moment))
        return opens <= moment

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The earliest instant by which ``amount`` of business time has elapsed since ``start``: so
        nothing added is ``start`` itself, and a total that runs out exactly at a closing is that closing."""
        if amount <= NOTHING:
            return start
        remaining = amount
        for opens, closes in self.spans_from(start):
            opens = max(opens, start)
            if remaining <= closes - opens:
                return opens + remaining
            remaining -= closes - opens
        raise AssertionError("spans_from never ends")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time in [start, end); nothing when end <= start."""
        total = NOTHING
        if end <= start:
            return total
        for opens, closes in self.spans_from(start):
            if opens >= end:
                break
            total += min(closes, end) - max(opens, start)
        return total
