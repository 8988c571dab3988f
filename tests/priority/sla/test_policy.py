"""Bands, policy selection and deadlines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from sportello_priority.sla import BusinessCalendar, SlaPolicy, SlaTargets, band_of, deadline, select_policy
from tests.services.calendar.calendars import HOUR, ROME, at, office

MINUTE = 60.0


@pytest.mark.parametrize(("priority", "band"), [
    (100, "urgent"), (75, "urgent"), (74.99, "high"), (50, "high"), (49.9, "normal"), (25, "normal"),
    (24.99, "low"), (0, "low"), (120, "urgent"), (-5, "low"),
])
def test_band_of_priority(priority: float, band: str) -> None:
    assert band_of(priority) == band


def test_band_of_nan_is_an_error() -> None:
    with pytest.raises(ValueError, match="NaN"):
        band_of(float("nan"))


def policy(name: str, channels: list[str] | None = None, calendar: BusinessCalendar | None = None) -> SlaPolicy:
    return SlaPolicy(
        name=name, channels=channels, calendar=calendar or office("Europe/Rome"),
        targets={
            "urgent": SlaTargets(first_response_s=15 * MINUTE, next_response_s=HOUR, resolution_s=8 * HOUR),
            "normal": SlaTargets(first_response_s=4 * HOUR, next_response_s=HOUR),
        })


def test_a_channel_specific_policy_beats_a_catch_all_wherever_it_is_listed() -> None:
    everything, x_only = policy("default"), policy("x", channels=["x"])
    assert select_policy([everything, x_only], "x") is x_only
    assert select_policy([everything, x_only], "email") is everything


def test_between_equally_specific_policies_the_first_listed_wins() -> None:
    first, second = policy("x first", channels=["x", "instagram"]), policy("x second", channels=["x"])
    assert select_policy([first, second], "x") is first
    default_a, default_b = policy("a"), policy("b")
    assert select_policy([default_a, default_b], "email") is default_a


def test_no_policy_for_a_channel_nobody_covers() -> None:
    assert select_policy([policy("x", channels=["x"])], "email") is None
    assert select_policy([], "x") is None


def test_deadlines_per_band_and_kind() -> None:
    rules = policy("default")
    friday_1750 = at(ROME, 2025, 1, 10, 17, 50)
    assert deadline(rules, "urgent", "first_response", friday_1750) == at(ROME, 2025, 1, 13, 9, 5)
    assert deadline(rules, "urgent", "next_response", friday_1750) == at(ROME, 2025, 1, 13, 9, 50)
    assert deadline(rules, "urgent", "resolution", friday_1750) == at(ROME, 2025, 1, 13, 16, 50)
    assert deadline(rules, "normal", "first_response", friday_1750) == at(ROME, 2025, 1, 13, 12, 50)


def test_no_deadline_without_a_target() -> None:
    rules = policy("default")
    start = datetime(2025, 1, 13, 10, tzinfo=UTC)
    assert deadline(rules, "normal", "resolution", start) is None  # no resolution target
    assert deadline(rules, "low", "first_response", start) is None  # no targets for the band


def test_an_unknown_target_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown target kind 'reply'"):
        deadline(policy("default"), "urgent", "reply", datetime(2025, 1, 13, tzinfo=UTC))  # type: ignore[arg-type]


def test_a_policy_round_trips_through_json() -> None:
    rules = policy("x", channels=["x"])
    assert SlaPolicy.model_validate_json(rules.model_dump_json()) == rules


@pytest.mark.parametrize(("changes", "message"), [
    ({"channels": []}, "use null to cover every channel"),
    ({"channels": ["x", " "]}, "must not be blank"),
    ({"targets": {}}, "at least 1 item"),
    ({"targets": {"critical": {"first_response_s": 60, "next_response_s": 60}}}, "'urgent', 'high', 'normal' or 'low'"),
    ({"targets": {"urgent": {"first_response_s": -1, "next_response_s": 60}}}, "greater than or equal to 0"),
    ({"targets": {"urgent": {"first_response_s": "inf", "next_response_s": 60}}}, "finite number"),
    ({"targets": {"urgent": {"first_response_s": 60, "next_response_s": 1e12}}}, "less than or equal to"),
])
def test_invalid_policies_are_refused(changes: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"name": "p", "calendar": office().model_dump(),
                              "targets": {"urgent": {"first_response_s": 60, "next_response_s": 60}}}
    with pytest.raises(ValidationError, match=message):
        SlaPolicy.model_validate(fields | changes)
