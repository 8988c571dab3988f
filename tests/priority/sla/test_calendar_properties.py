"""Properties of business-time arithmetic over random calendars, instants and amounts.

Calendars are drawn in quarter hours (so edges land inside DST gaps and repeats) across zones with
ordinary DST, a 30-minute DST (Lord Howe), no DST (Kolkata) and a skipped day (Apia, December 2011).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from sportello_priority.sla import BusinessCalendar, Shift, checkpoints, risk, stage_of

# Failing examples are replayed from the git-ignored .cache rather than a .hypothesis/ in the checkout.
PROPERTIES = settings(deadline=None, max_examples=150, database=DirectoryBasedExampleDatabase(
    Path(__file__).resolve().parents[3] / ".cache" / "hypothesis"))
QUARTERS_PER_DAY = 96
ZONES = ("UTC", "Europe/Rome", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Apia")
FIXED_OFFSET_ZONES = ("UTC", "Asia/Kolkata")
ONE_MICROSECOND = timedelta(microseconds=1)
TOLERANCE = 1e-5  # seconds: amounts are rounded to whole microseconds


def quarter(index: int) -> time:
    return time(index // 4 % 24, index % 4 * 15)


@st.composite
def calendars(draw: st.DrawFn, zones: tuple[str, ...] = ZONES) -> BusinessCalendar:
    # Sorted distinct quarter-hours of the week, paired into (open, close): disjoint by construction.
    edges = sorted(draw(st.sets(st.integers(0, 7 * QUARTERS_PER_DAY - 1), min_size=2, max_size=16)))
    weekly: dict[int, list[Shift]] = {}
    for opens, closes in zip(edges[::2], edges[1::2], strict=False):
        closes = min(closes, opens + QUARTERS_PER_DAY)  # a shift lasts at most 24 hours
        weekly.setdefault(opens // QUARTERS_PER_DAY, []).append(Shift(start=quarter(opens), end=quarter(closes)))
    days = st.dates(date(2011, 12, 20), date(2026, 12, 31))
    holidays = draw(st.lists(days, max_size=4, unique=True))
    special_days = draw(st.lists(days.filter(lambda day: day not in holidays), max_size=2, unique=True))
    special_hours = {}
    for day in special_days:
        day_edges = sorted(draw(st.sets(st.integers(0, QUARTERS_PER_DAY - 1), max_size=4)))
        special_hours[day] = tuple(Shift(start=quarter(opens), end=quarter(closes))
                                   for opens, closes in zip(day_edges[::2], day_edges[1::2], strict=False))
    return BusinessCalendar(name="random", timezone=draw(st.sampled_from(zones)), weekly=weekly,
                            holidays=holidays, special_hours=special_hours)


instants = st.datetimes(datetime(2011, 12, 25), datetime(2026, 12, 31), timezones=st.just(UTC))
amounts = st.floats(0, 40 * 86400, allow_nan=False)
positive_amounts = st.floats(0.001, 40 * 86400)


@PROPERTIES
@given(calendars(), instants, amounts)
def test_between_measures_back_what_add_added(calendar: BusinessCalendar, start: datetime, seconds: float) -> None:
    assert abs(calendar.between(start, calendar.add(start, seconds)) - seconds) < TOLERANCE


@PROPERTIES
@given(calendars(), instants, amounts, amounts)
def test_add_is_monotonic(calendar: BusinessCalendar, start: datetime, first: float, second: float) -> None:
    less, more = sorted((first, second))
    assert calendar.add(start, less) <= calendar.add(start, more)


@PROPERTIES
@given(calendars(), instants, positive_amounts)
def test_add_lands_in_open_time_or_exactly_at_a_closing(
        calendar: BusinessCalendar, start: datetime, seconds: float) -> None:
    due = calendar.add(start, seconds)
    assert calendar.is_open(due) or calendar.is_open(due - ONE_MICROSECOND)


@PROPERTIES
@given(calendars(), instants, instants, instants)
def test_between_is_additive_over_adjacent_intervals(
        calendar: BusinessCalendar, first: datetime, second: datetime, third: datetime) -> None:
    a, b, c = sorted((first, second, third))
    assert abs(calendar.between(a, b) + calendar.between(b, c) - calendar.between(a, c)) < TOLERANCE


@PROPERTIES
@given(calendars(), instants)
def test_is_open_agrees_with_between(calendar: BusinessCalendar, moment: datetime) -> None:
    assert calendar.is_open(moment) == (calendar.between(moment, moment + ONE_MICROSECOND) > 0)


@PROPERTIES
@given(calendars(FIXED_OFFSET_ZONES), instants)
def test_is_open_matches_reading_the_wall_clock(calendar: BusinessCalendar, moment: datetime) -> None:
    # Without DST, "open" is simply: some shift that started today or yesterday covers the wall time.
    wall = moment.astimezone(ZoneInfo(calendar.timezone)).replace(tzinfo=None)
    covered = False
    for day in (wall.date(), wall.date() - timedelta(days=1)):
        if day in calendar.holidays:
            continue
        for shift in calendar.special_hours.get(day, calendar.weekly.get(day.weekday(), ())):
            opens = datetime.combine(day, shift.start)
            covered |= opens <= wall < opens + shift.length
    assert calendar.is_open(moment) == covered


@PROPERTIES
@given(calendars(), instants, positive_amounts)
def test_the_last_checkpoint_is_the_deadline(calendar: BusinessCalendar, start: datetime, seconds: float) -> None:
    due = calendar.add(start, seconds)
    points = checkpoints(calendar, start, due)
    assert points[-1].due_at == due
    assert [point.due_at for point in points] == sorted(point.due_at for point in points)


@PROPERTIES
@given(calendars(), instants, st.floats(1, 40 * 86400))
def test_at_each_checkpoint_risk_names_the_stage_it_enters(
        calendar: BusinessCalendar, start: datetime, seconds: float) -> None:
    due = calendar.add(start, seconds)
    for point in checkpoints(calendar, start, due):
        assert stage_of(risk(calendar, start, due, point.due_at)) == point.stage
