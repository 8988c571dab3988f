"""Business calendars: when a care team is at work, and how much working time lies between instants.

A calendar is stored as JSON and edited through the API, so it is a validated pydantic model; the
arithmetic lives in ``timeline``. Instants going in may be in any zone (naive ones are refused);
instants coming out are UTC.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from sportello.calendar.timeline import Timeline
from sportello.calendar.wallclock import as_utc

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
Weekday = Annotated[int, Field(ge=0, le=6, description="0 = Monday .. 6 = Sunday")]
_WEEK = timedelta(days=7)


class Shift(BaseModel):
    """Opening hours as wall-clock times in the calendar's zone, e.g. 09:00-13:00. When ``end <= start``
    the shift runs past midnight and ends the next day (22:00-06:00); ``start == end`` is 24 hours."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: time
    end: time

    @field_validator("start", "end")
    @classmethod
    def _wall_clock(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("shift times are wall-clock times in the calendar's time zone; drop the UTC offset")
        return value

    @property
    def length(self) -> timedelta:
        """Wall-clock length (a DST change that night makes the real open time differ)."""
        start = datetime.combine(date.min, self.start)
        end = datetime.combine(date.min, self.end)
        return end - start if self.end > self.start else end - start + timedelta(days=1)

    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


class BusinessCalendar(BaseModel):
    """A time zone, weekly opening hours (several shifts a day allowed), and the dates that differ.

    ``holidays`` close whole dates; ``special_hours`` replace the weekly hours on a date (a half day on
    Christmas Eve, a closure over lunch). Both are dates in the calendar's zone and apply to the shifts
    that *start* that day, so a holiday also cancels the night shift that would begin on it.

    Immutable: build a changed calendar with ``model_validate``, since ``model_copy(update=...)`` skips
    the validation and the precomputed timeline.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    timezone: str = Field(description="IANA time zone name, e.g. Europe/Rome")
    weekly: dict[Weekday, tuple[Shift, ...]] = Field(description="Shifts per weekday; a missing day is closed")
    holidays: tuple[date, ...] = ()
    special_hours: dict[date, tuple[Shift, ...]] = Field(default_factory=dict)

    _timeline: Timeline = PrivateAttr()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as 'Europe/Rome'") from None
        return value

    @field_validator("weekly")
    @classmethod
    def _weekly_hours(cls, weekly: dict[int, tuple[Shift, ...]]) -> dict[int, tuple[Shift, ...]]:
        if not any(weekly.values()):
            raise ValueError("the calendar is never open: give at least one shift in the weekly hours")
        placed = [(timedelta(days=day), WEEKDAY_NAMES[day], shift) for day in weekly for shift in weekly[day]]
        # Repeat the week once more so an overnight Sunday shift is checked against Monday morning.
        _refuse_overlaps(placed + [(offset + _WEEK, name, shift) for offset, name, shift in placed])
        return {day: _by_start(shifts) for day, shifts in sorted(weekly.items())}

    @field_validator("special_hours")
    @classmethod
    def _special_hours(cls, special: dict[date, tuple[Shift, ...]]) -> dict[date, tuple[Shift, ...]]:
        for day, shifts in special.items():
            _refuse_overlaps([(timedelta(0), day.isoformat(), shift) for shift in shifts])
        return {day: _by_start(shifts) for day, shifts in sorted(special.items())}

    @model_validator(mode="after")
    def _holidays_have_no_hours(self) -> BusinessCalendar:
        both = sorted(set(self.holidays) & self.special_hours.keys())
        if both:
            raise ValueError(f"dates both holidays and with special hours (choose one): {', '.join(map(str, both))}")
        return self

    def model_post_init(self, context: Any, /) -> None:
        def wall(shifts: Iterable[Shift]) -> tuple[tuple[time, time], ...]:
            return tuple((shift.start, shift.end) for shift in shifts)

        self._timeline = Timeline(
            zone=ZoneInfo(self.timezone),
            weekly=tuple(wall(self.weekly.get(day, ())) for day in range(7)),
            holidays=frozenset(self.holidays),
            special_hours={day: wall(shifts) for day, shifts in self.special_hours.items()},
        )

    @classmethod
    def always_open(cls, name: str = "24x7", timezone: str = "UTC") -> BusinessCalendar:
        whole_day = Shift(start=time(0), end=time(0))
        return cls(name=name, timezone=timezone, weekly={day: (whole_day,) for day in range(7)})

    def is_open(self, at: datetime) -> bool:
        return self._timeline.is_open(as_utc(at, "at"))

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant (UTC) when ``seconds`` of business time have elapsed after ``start``, which may be
        outside business hours. It is open, or exactly a closing time; zero seconds gives ``start``."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
        return self._timeline.add(as_utc(start, "start"), timedelta(seconds=seconds))

    def between(self, start: datetime, end: datetime) -> float:
        """Business seconds in [start, end); 0.0 when end <= start."""
        return self._timeline.between(as_utc(start, "start"), as_utc(end, "end")).total_seconds()


def _by_start(shifts: Iterable[Shift]) -> tuple[Shift, ...]:
    return tuple(sorted(shifts, key=lambda shift: shift.start))


def _refuse_overlaps(placed: list[tuple[timedelta, str, Shift]]) -> None:
    """``placed``: (offset of the shift's day, day name, shift). Shifts may touch, not overlap."""
    def opening(item: tuple[timedelta, str, Shift]) -> timedelta:
        day_offset, _, shift = item
        return day_offset + datetime.combine(date.min, shift.start) - datetime.min

    for earlier, later in itertools.pairwise(sorted(placed, key=opening)):
        if opening(earlier) + earlier[2].length > opening(later):
            raise ValueError(f"shifts overlap: {earlier[1]} {earlier[2].label()} and {later[1]} {later[2].label()}")
