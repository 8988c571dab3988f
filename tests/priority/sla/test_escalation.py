"""Checkpoints and risk: time pressure measured in business time."""

from __future__ import annotations

import pytest

from sportello_priority.sla import checkpoints, risk, stage_of
from tests.services.calendar.calendars import HOUR, ROME, at, office

SPLIT = office("Europe/Rome", "09:00-13:00", "14:00-18:00")
MONDAY = (2025, 1, 13)


def test_checkpoints_fall_where_each_share_of_business_time_is_used() -> None:
    # Monday 11:00 with 4 business hours: 11-13 and 14-16, so the deadline is 16:00.
    start, due = at(ROME, *MONDAY, 11), at(ROME, *MONDAY, 16)
    assert checkpoints(SPLIT, start, due) == [
        ("halfway", 0.5, at(ROME, *MONDAY, 13)),  # the 2nd hour ends as lunch begins
        ("at_risk", 0.75, at(ROME, *MONDAY, 15)),
        ("critical", 0.9, at(ROME, *MONDAY, 15, 36)),
        ("breached", 1.0, due),
    ]


def test_checkpoints_skip_the_weekend() -> None:
    start = at(ROME, 2025, 1, 10, 17)  # Friday, one business hour left that day
    due = SPLIT.add(start, 4 * HOUR)
    assert due == at(ROME, *MONDAY, 12)
    assert [point.due_at for point in checkpoints(SPLIT, start, due)] == [
        at(ROME, *MONDAY, 10), at(ROME, *MONDAY, 11), at(ROME, *MONDAY, 11, 36), due]


def test_custom_fractions_are_sorted_and_can_track_an_overrun() -> None:
    start, due = at(ROME, *MONDAY, 9), at(ROME, *MONDAY, 11)
    assert checkpoints(SPLIT, start, due, fractions=(2.0, 0.25, 0.25)) == [
        ("on_track", 0.25, at(ROME, *MONDAY, 9, 30)),
        ("breached", 2.0, at(ROME, *MONDAY, 13)),  # 4 hours: 09:00-13:00
    ]


def test_checkpoints_refuse_a_deadline_before_the_start_and_odd_fractions() -> None:
    with pytest.raises(ValueError, match="before the start"):
        checkpoints(SPLIT, at(ROME, *MONDAY, 11), at(ROME, *MONDAY, 10))
    with pytest.raises(ValueError, match="finite and > 0"):
        checkpoints(SPLIT, at(ROME, *MONDAY, 9), at(ROME, *MONDAY, 11), fractions=(0.0, 1.0))


def test_risk_grows_only_during_business_hours() -> None:
    start, due = at(ROME, *MONDAY, 11), at(ROME, *MONDAY, 16)
    assert risk(SPLIT, start, due, now=at(ROME, *MONDAY, 10)) == 0.0  # not started yet
    assert risk(SPLIT, start, due, now=start) == 0.0
    assert risk(SPLIT, start, due, now=at(ROME, *MONDAY, 13)) == 0.5
    assert risk(SPLIT, start, due, now=at(ROME, *MONDAY, 13, 59)) == 0.5  # lunch costs nothing
    assert risk(SPLIT, start, due, now=due) == 1.0
    assert risk(SPLIT, start, due, now=at(ROME, *MONDAY, 18)) == 1.5
    assert risk(SPLIT, start, due, now=at(ROME, 2025, 1, 14, 8)) == 1.5  # overnight: still 1.5


def test_with_no_business_time_allowed_everything_is_due_at_once() -> None:
    start = at(ROME, *MONDAY, 11)
    assert risk(SPLIT, start, start, now=at(ROME, *MONDAY, 10)) == 0.0
    assert risk(SPLIT, start, start, now=start) == 1.0
    assert {point.due_at for point in checkpoints(SPLIT, start, start)} == {start}


@pytest.mark.parametrize(("used", "stage"), [
    (0.0, "on_track"), (0.49, "on_track"), (0.5, "halfway"), (0.75, "at_risk"), (0.9, "critical"),
    (0.99, "critical"), (1.0, "breached"), (3.0, "breached"),
])
def test_stage_of_share_used(used: float, stage: str) -> None:
    assert stage_of(used) == stage
