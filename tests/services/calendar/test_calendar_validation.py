"""A calendar arrives as JSON through the API: bad ones are refused with a message that says why."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from sportello.calendar import BusinessCalendar, Shift
from tests.services.calendar.calendars import HOUR, ROME, at, office, shifts


def calendar_from(**changes: Any) -> BusinessCalendar:
    fields: dict[str, Any] = {"name": "support", "timezone": "Europe/Rome", "weekly": {0: shifts("09:00-18:00")}}
    return BusinessCalendar(**(fields | changes))


def test_a_calendar_loads_from_api_json() -> None:
    payload = """{"name": "Italy care", "timezone": "Europe/Rome",
                  "weekly": {"0": [{"start": "09:00", "end": "13:00"}, {"start": "14:00", "end": "18:00"}]},
                  "holidays": ["2025-04-21"], "special_hours": {"2025-04-28": [{"start": "09:00", "end": "12:00"}]}}"""
    calendar = BusinessCalendar.model_validate_json(payload)
    assert calendar.weekly[0] == shifts("09:00-13:00", "14:00-18:00")
    assert calendar.holidays == (date(2025, 4, 21),)
    assert calendar.add(at(ROME, 2025, 4, 20), HOUR) == at(ROME, 2025, 4, 28, 10)
    assert BusinessCalendar.model_validate_json(calendar.model_dump_json()) == calendar


def test_shifts_are_stored_in_order_of_opening() -> None:
    assert calendar_from(weekly={0: shifts("14:00-18:00", "09:00-13:00")}).weekly[0] == shifts(
        "09:00-13:00", "14:00-18:00")


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Europe/Atlantis'") as error:
        calendar_from(timezone="Europe/Atlantis")
    assert error.value.errors()[0]["loc"] == ("timezone",)


@pytest.mark.parametrize(("weekly", "message"), [
    ({0: shifts("09:00-13:00", "12:00-18:00")}, "shifts overlap: Monday 09:00-13:00 and Monday 12:00-18:00"),
    ({0: shifts("22:00-06:00"), 1: shifts("05:00-09:00")}, "Monday 22:00-06:00 and Tuesday 05:00-09:00"),
    ({6: shifts("22:00-06:00"), 0: shifts("05:00-09:00")}, "Sunday 22:00-06:00 and Monday 05:00-09:00"),
    ({2: shifts("10:00-10:00", "12:00-13:00")}, "Wednesday 10:00-10:00 and Wednesday 12:00-13:00"),
])
def test_overlapping_shifts_are_refused(weekly: dict[int, tuple[Shift, ...]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        calendar_from(weekly=weekly)


def test_shifts_may_touch() -> None:
    calendar = calendar_from(weekly={0: shifts("09:00-13:00", "13:00-18:00", "18:00-09:00"), 1: shifts("09:00-12:00")})
    assert calendar.between(at(ROME, 2025, 1, 13), at(ROME, 2025, 1, 15)) == 27 * HOUR  # Monday 09:00 to Tuesday noon


@pytest.mark.parametrize("weekly", [{}, {0: (), 3: ()}])
def test_a_calendar_that_is_never_open_is_refused(weekly: dict[int, tuple[Shift, ...]]) -> None:
    with pytest.raises(ValueError, match="never open"):
        calendar_from(weekly=weekly)


def test_weekdays_run_from_0_to_6() -> None:
    with pytest.raises(ValidationError, match="less than or equal to 6"):
        calendar_from(weekly={7: shifts("09:00-18:00")})


def test_shift_times_carry_no_utc_offset() -> None:
    with pytest.raises(ValidationError, match="wall-clock times"):
        Shift(start=time(9, tzinfo=timezone(timedelta(hours=1))), end=time(18))


def test_special_hours_must_not_overlap_and_a_date_is_not_also_a_holiday() -> None:
    with pytest.raises(ValidationError, match="2025-12-24 09:00-13:00 and 2025-12-24 12:00-14:00"):
        calendar_from(special_hours={date(2025, 12, 24): shifts("09:00-13:00", "12:00-14:00")})
    with pytest.raises(ValidationError, match="both holidays and with special hours"):
        calendar_from(holidays=[date(2025, 12, 24)], special_hours={date(2025, 12, 24): shifts("09:00-13:00")})


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        calendar_from(opening_hours={})


def test_naive_datetimes_are_refused() -> None:
    calendar = office()
    naive, aware = datetime(2025, 1, 13, 10), datetime(2025, 1, 13, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        calendar.add(naive, HOUR)
    with pytest.raises(ValueError, match="end must be timezone-aware"):
        calendar.between(aware, naive)
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        calendar.is_open(naive)


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf")])
def test_business_time_to_add_is_finite_and_not_negative(seconds: float) -> None:
    with pytest.raises(ValueError, match="finite number >= 0"):
        office().add(datetime(2025, 1, 13, 10, tzinfo=UTC), seconds)
