"""SLA policies and calendars as stored and as the API takes them: a policy names its calendar, so
one calendar (a team's hours and holidays) serves many policies and is edited in one place."""

from __future__ import annotations

from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field

from sportello_priority.sla import Band, BusinessCalendar, SlaPolicy, SlaTargets

log = structlog.get_logger(__name__)

ALWAYS_OPEN = "24x7"
_MINUTE, _HOUR = 60.0, 3600.0


class CalendarIn(BusinessCalendar):
    """A calendar as the API takes it: its name is the path's."""

    name: str = Field(default="-", description="Ignored: the name in the path is the calendar's")


class PolicySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: tuple[str, ...] | None = Field(
        default=None, description="Channels it covers (e.g. x, whatsapp); null for every channel")
    targets: dict[Band, SlaTargets] = Field(min_length=1)
    calendar: str = Field(default=ALWAYS_OPEN, description="Name of a calendar, or 24x7")


# Until an admin defines policies: answer round the clock, faster the higher the band.
DEFAULT_POLICIES = [SlaPolicy(
    name="default", channels=None, calendar=BusinessCalendar.always_open(ALWAYS_OPEN),
    targets={
        "urgent": SlaTargets(first_response_s=15 * _MINUTE, next_response_s=15 * _MINUTE),
        "high": SlaTargets(first_response_s=1 * _HOUR, next_response_s=1 * _HOUR),
        "normal": SlaTargets(first_response_s=4 * _HOUR, next_response_s=2 * _HOUR),
        "low": SlaTargets(first_response_s=24 * _HOUR, next_response_s=8 * _HOUR),
    },
)]


def build_calendars(specs: dict[str, dict[str, Any]]) -> dict[str, BusinessCalendar]:
    calendars = {name: BusinessCalendar.model_validate({**spec, "name": name})
                 for name, spec in specs.items()}
    calendars.setdefault(ALWAYS_OPEN, BusinessCalendar.always_open(ALWAYS_OPEN))
    return calendars


def build_policy(name: str, spec: PolicySpec,
                 calendars: dict[str, BusinessCalendar]) -> SlaPolicy:
    calendar = calendars.get(spec.calendar)
    if calendar is None:
        raise LookupError(f"no calendar named {spec.calendar!r}")
    return SlaPolicy(name=name, channels=spec.channels, targets=spec.targets, calendar=calendar)


def build_policies(calendar_specs: dict[str, dict[str, Any]],
                   policy_specs: dict[str, dict[str, Any]]
                   ) -> tuple[dict[str, BusinessCalendar], list[SlaPolicy]]:
    """Policies in name order (select_policy's tie-break among equally specific ones)."""
    calendars = build_calendars(calendar_specs)
    policies = []
    for name, spec in sorted(policy_specs.items()):
        try:
            policies.append(build_policy(name, PolicySpec.model_validate(spec), calendars))
        except (LookupError, ValueError) as error:
            # The API refuses such changes; a row edited by hand must not stop scoring.
            log.error("priority.policy_unusable", policy=name, error=str(error))
    return calendars, policies
