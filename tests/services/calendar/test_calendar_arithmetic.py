"""Business-time arithmetic on ordinary days: holidays, zones, split and overnight shifts, 24x7."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sportello.calendar import BusinessCalendar
from tests.services.calendar.calendars import EASTER_MONDAY_2025, HOUR, NEW_YORK, ROME, at, office, shifts

SPLIT = ("09:00-13:00", "14:00-18:00")


def test_a_deadline_skips_a_public_holiday() -> None:
    # Friday 17:30 + 1 business hour: 30 minutes on Friday, Easter Monday closed, 30 minutes on Tuesday.
    calendar = office("Europe/Rome", holidays=[EASTER_MONDAY_2025])
    due = calendar.add(at(ROME, 2025, 4, 18, 17, 30), HOUR)
    assert due == at(ROME, 2025, 4, 22, 9, 30)
    assert due.tzinfo is UTC


def test_friday_night_utc_is_already_the_weekend_in_rome() -> None:
    friday_night = datetime(2025, 1, 10, 23, 30, tzinfo=UTC)  # Saturday 00:30 in Rome
    rome = office("Europe/Rome")
    assert not rome.is_open(friday_night)
    assert rome.add(friday_night, HOUR) == at(ROME, 2025, 1, 13, 10)


def test_the_same_instant_is_friday_evening_after_hours_in_new_york() -> None:
    friday_night = datetime(2025, 1, 10, 23, 30, tzinfo=UTC)  # Friday 18:30 EST
    new_york = office("America/New_York")
    assert not new_york.is_open(friday_night)
    assert new_york.is_open(at(NEW_YORK, 2025, 1, 10, 17, 59))
    assert new_york.add(friday_night, HOUR) == at(NEW_YORK, 2025, 1, 13, 10)


def test_the_lunch_break_of_a_split_shift_is_not_counted() -> None:
    calendar = office("Europe/Rome", *SPLIT)
    monday = (2025, 1, 13)
    assert calendar.add(at(ROME, *monday, 12, 30), HOUR) == at(ROME, *monday, 14, 30)
    assert calendar.between(at(ROME, *monday, 9), at(ROME, *monday, 18)) == 8 * HOUR
    assert not calendar.is_open(at(ROME, *monday, 13, 30))
    # Starting during lunch counts from the afternoon opening.
    assert calendar.add(at(ROME, *monday, 13, 10), HOUR) == at(ROME, *monday, 15)


def test_an_overnight_shift_belongs_to_the_evening_it_starts() -> None:
    # Shifts start Monday..Friday at 22:00, so the Friday shift runs into Saturday morning.
    nights = office("UTC", "22:00-06:00")
    assert nights.add(datetime(2025, 1, 14, 5, tzinfo=UTC), 2 * HOUR) == datetime(2025, 1, 14, 23, tzinfo=UTC)
    assert nights.is_open(datetime(2025, 1, 18, 3, tzinfo=UTC))  # Saturday 03:00
    assert not nights.is_open(datetime(2025, 1, 18, 22, tzinfo=UTC))  # Saturday night: no shift
    assert not nights.is_open(datetime(2025, 1, 13, 3, tzinfo=UTC))  # Monday 03:00: no Sunday shift
    assert nights.between(datetime(2025, 1, 13, tzinfo=UTC), datetime(2025, 1, 20, tzinfo=UTC)) == 5 * 8 * HOUR


def test_a_holiday_cancels_the_night_shift_that_would_start_on_it() -> None:
    nights = office("UTC", "22:00-06:00", holidays=[date(2025, 1, 15)])  # a Wednesday
    assert nights.is_open(datetime(2025, 1, 15, 5, tzinfo=UTC))  # Tuesday's shift still ends at 06:00
    assert not nights.is_open(datetime(2025, 1, 15, 23, tzinfo=UTC))
    assert nights.add(datetime(2025, 1, 15, 21, tzinfo=UTC), HOUR) == datetime(2025, 1, 16, 23, tzinfo=UTC)


def test_always_open_counts_every_second() -> None:
    calendar = BusinessCalendar.always_open()
    start = datetime(2025, 3, 1, 12, 34, 56, tzinfo=UTC)
    assert calendar.add(start, 90 * 86400) == start + timedelta(days=90)
    assert calendar.between(start, start + timedelta(days=3, seconds=7)) == 3 * 86400 + 7
    assert calendar.is_open(start)


def test_start_inside_hours_counts_at_once_and_outside_waits_for_the_opening() -> None:
    calendar = office("Europe/Rome")
    assert calendar.add(at(ROME, 2025, 1, 13, 10), HOUR) == at(ROME, 2025, 1, 13, 11)
    assert calendar.add(at(ROME, 2025, 1, 13, 7), HOUR) == at(ROME, 2025, 1, 13, 10)
    assert calendar.add(at(ROME, 2025, 1, 11, 15), HOUR) == at(ROME, 2025, 1, 13, 10)  # Saturday
    assert calendar.add(at(ROME, 2025, 1, 13, 18), HOUR) == at(ROME, 2025, 1, 14, 10)  # at closing: closed


def test_time_that_runs_out_at_a_closing_ends_there_not_at_the_next_opening() -> None:
    calendar = office("Europe/Rome")
    assert calendar.add(at(ROME, 2025, 1, 13, 17), HOUR) == at(ROME, 2025, 1, 13, 18)


def test_zero_seconds_is_the_start_itself() -> None:
    calendar = office("Europe/Rome")
    inside, outside = at(ROME, 2025, 1, 13, 10), at(ROME, 2025, 1, 11, 10)
    assert calendar.add(inside, 0) == inside
    assert calendar.add(outside, 0) == outside
    assert calendar.between(inside, inside) == 0
    assert calendar.between(inside, outside) == 0  # an end before the start holds no time


def test_special_hours_replace_the_weekly_hours_on_a_date() -> None:
    christmas = office("Europe/Rome", holidays=[date(2025, 12, 25), date(2025, 12, 26)],
                       special_hours={date(2025, 12, 24): shifts("09:00-13:00")})
    # Wednesday 24th 12:00 + 2h: one hour before the half day ends, the next after the long weekend.
    assert christmas.add(at(ROME, 2025, 12, 24, 12), 2 * HOUR) == at(ROME, 2025, 12, 29, 10)
    assert christmas.between(at(ROME, 2025, 12, 22), at(ROME, 2025, 12, 29)) == (9 + 9 + 4) * HOUR


def test_special_hours_running_into_the_next_days_shift_count_shared_time_once() -> None:
    calendar = office("UTC", special_hours={date(2025, 1, 13): shifts("20:00-10:00")})
    monday_evening = datetime(2025, 1, 13, 20, tzinfo=UTC)
    assert calendar.between(monday_evening, datetime(2025, 1, 14, 18, tzinfo=UTC)) == 22 * HOUR


def test_instants_in_any_zone_mean_the_same_moment() -> None:
    calendar = office("Europe/Rome")
    in_rome = at(ROME, 2025, 1, 13, 10)
    assert calendar.add(in_rome.astimezone(NEW_YORK), HOUR) == calendar.add(in_rome, HOUR)


def test_thirty_business_days_on_a_calendar_open_one_hour_a_week() -> None:
    sparse = BusinessCalendar(name="wednesday clinic", timezone="Europe/Rome", weekly={2: shifts("10:00-11:00")})
    thirty_days = 30 * 8 * HOUR  # 240 weekly hours: over four and a half years of Wednesdays
    start = at(ROME, 2025, 1, 6)
    due = sparse.add(start, thirty_days)
    last_wednesday = date(2025, 1, 8) + timedelta(weeks=239)
    assert due == at(ROME, last_wednesday.year, last_wednesday.month, last_wednesday.day, 11)
    assert sparse.between(start, due) == thirty_days
