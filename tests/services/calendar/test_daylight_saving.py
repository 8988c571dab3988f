"""Daylight saving: shifts are wall-clock hours, business time is real elapsed time.

Europe/Rome 2025: clocks jump 02:00 -> 03:00 on Sunday 30 March, fall back 03:00 -> 02:00 on Sunday
26 October. America/New_York 2025: 02:00 -> 03:00 on Sunday 9 March, 02:00 -> 01:00 on Sunday 2 November.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from sportello.calendar import BusinessCalendar
from tests.services.calendar.calendars import EVERY_DAY, HOUR, NEW_YORK, ROME, at, office, shifts

ROME_SPRING, ROME_AUTUMN = date(2025, 3, 30), date(2025, 10, 26)


@pytest.mark.parametrize("sunday", [ROME_SPRING, ROME_AUTUMN])
def test_a_day_shift_on_a_dst_day_is_still_its_wall_clock_hours(sunday: date) -> None:
    calendar = office("Europe/Rome", days=EVERY_DAY)
    day = (sunday.year, sunday.month, sunday.day)
    assert calendar.between(at(ROME, *day), at(ROME, *day, 23)) == 9 * HOUR
    assert calendar.add(at(ROME, *day, 8), 9 * HOUR) == at(ROME, *day, 18)


def test_an_overnight_shift_is_an_hour_shorter_when_clocks_spring_forward() -> None:
    nights = office("Europe/Rome", "22:00-06:00", days=EVERY_DAY)
    saturday_noon, sunday_noon = at(ROME, 2025, 3, 29, 12), at(ROME, 2025, 3, 30, 12)
    assert nights.between(saturday_noon, sunday_noon) == 7 * HOUR
    assert nights.add(saturday_noon, 7 * HOUR) == at(ROME, 2025, 3, 30, 6)


def test_an_overnight_shift_is_an_hour_longer_when_clocks_fall_back() -> None:
    nights = office("Europe/Rome", "22:00-06:00", days=EVERY_DAY)
    saturday_noon, sunday_noon = at(ROME, 2025, 10, 25, 12), at(ROME, 2025, 10, 26, 12)
    assert nights.between(saturday_noon, sunday_noon) == 9 * HOUR
    assert nights.add(saturday_noon, 9 * HOUR) == at(ROME, 2025, 10, 26, 6)


def test_always_open_in_rome_has_a_23_and_a_25_hour_day() -> None:
    calendar = BusinessCalendar.always_open(timezone="Europe/Rome")
    assert calendar.between(at(ROME, 2025, 3, 30), at(ROME, 2025, 3, 31)) == 23 * HOUR
    assert calendar.between(at(ROME, 2025, 10, 26), at(ROME, 2025, 10, 27)) == 25 * HOUR
    # One hour after 01:30 on the spring night the clock reads 03:30.
    assert calendar.add(at(ROME, 2025, 3, 30, 1, 30), HOUR) == at(ROME, 2025, 3, 30, 3, 30)


def test_a_shift_starting_in_the_skipped_hour_opens_when_the_clock_jumps() -> None:
    calendar = BusinessCalendar(name="early", timezone="Europe/Rome", weekly={6: shifts("02:30-05:00")})
    jump = datetime(2025, 3, 30, 1, tzinfo=UTC)  # 03:00 CEST
    assert calendar.add(at(ROME, 2025, 3, 29), 1) == datetime(2025, 3, 30, 1, 0, 1, tzinfo=UTC)
    assert calendar.between(jump, at(ROME, 2025, 3, 31)) == 2 * HOUR
    assert not calendar.is_open(datetime(2025, 3, 30, 0, 59, tzinfo=UTC))


def test_a_shift_wholly_inside_the_skipped_hour_does_not_open_that_night() -> None:
    calendar = BusinessCalendar(name="odd", timezone="Europe/Rome", weekly={6: shifts("02:10-02:50")})
    assert calendar.between(at(ROME, 2025, 3, 29), at(ROME, 2025, 3, 31)) == 0
    assert calendar.add(at(ROME, 2025, 3, 29), 60) == at(ROME, 2025, 4, 6, 2, 11)  # next Sunday


def test_a_shift_edge_in_the_repeated_hour_means_its_first_occurrence() -> None:
    calendar = BusinessCalendar(name="late", timezone="Europe/Rome", weekly={6: shifts("02:30-04:00")})
    first_0230 = datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 02:30 CEST; the second is 01:30 UTC
    assert calendar.add(at(ROME, 2025, 10, 25), 1) == datetime(2025, 10, 26, 0, 30, 1, tzinfo=UTC)
    assert calendar.between(first_0230, at(ROME, 2025, 10, 27)) == 2.5 * HOUR  # 1.5 wall-clock hours


def test_new_york_office_hours_across_the_spring_weekend() -> None:
    # Friday 17:00 EST + 2h: one hour on Friday, then Monday 09:00 EDT (13:00 UTC, not 14:00).
    calendar = office("America/New_York")
    assert calendar.add(at(NEW_YORK, 2025, 3, 7, 17), 2 * HOUR) == datetime(2025, 3, 10, 14, tzinfo=UTC)


@pytest.mark.parametrize(("sunday", "hours"), [(date(2025, 3, 9), 5), (date(2025, 11, 2), 7)])
def test_new_york_early_morning_shift_on_dst_sundays(sunday: date, hours: int) -> None:
    calendar = BusinessCalendar(name="early", timezone="America/New_York", weekly={6: shifts("00:00-06:00")})
    day = (sunday.year, sunday.month, sunday.day)
    assert calendar.between(at(NEW_YORK, *day), at(NEW_YORK, *day, 12)) == hours * HOUR


def test_a_day_the_zone_skipped_entirely_has_no_business_time() -> None:
    # Samoa moved across the date line: Thursday 29 December 2011 was followed by Saturday 31st.
    apia = ZoneInfo("Pacific/Apia")
    calendar = office("Pacific/Apia")
    due = calendar.add(datetime(2011, 12, 29, 17, tzinfo=apia), 2 * HOUR)
    assert due == datetime(2012, 1, 2, 10, tzinfo=apia)
