"""SLA policies: response and resolution targets per priority band, counted on a business calendar."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sportello.calendar.calendar import BusinessCalendar
from sportello_priority.sla.bands import Band

TargetKind = Literal["first_response", "next_response", "resolution"]
TARGET_KINDS: tuple[TargetKind, ...] = get_args(TargetKind)


# A year of business time: far beyond any real target, and it keeps a mistyped one from walking the
# calendar for millions of days (deadlines cost O(days spanned)).
MAX_TARGET_S = 365 * 86400.0


class SlaTargets(BaseModel):
    """Business seconds allowed for each kind of target; no resolution target when ``resolution_s`` is None."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_response_s: float = Field(ge=0, le=MAX_TARGET_S, allow_inf_nan=False, description="Until the first reply")
    next_response_s: float = Field(ge=0, le=MAX_TARGET_S, allow_inf_nan=False,
                                   description="From a customer's message to the next reply")
    resolution_s: float | None = Field(default=None, ge=0, le=MAX_TARGET_S, allow_inf_nan=False,
                                       description="Until resolved; null for no resolution target")

    def seconds_for(self, kind: TargetKind) -> float | None:
        _require_kind(kind)
        seconds: float | None = getattr(self, f"{kind}_s")
        return seconds


class SlaPolicy(BaseModel):
    """Targets per band for some channels (``channels`` None: every channel). A band with no targets has
    no SLA, e.g. a policy may leave "low" out."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    channels: tuple[str, ...] | None = Field(default=None, description="Channels it covers; null for all")
    targets: dict[Band, SlaTargets] = Field(min_length=1)
    calendar: BusinessCalendar

    @field_validator("channels")
    @classmethod
    def _channels_named(cls, channels: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if channels is None:
            return None
        if not channels:
            raise ValueError("an empty channel list matches nothing; use null to cover every channel")
        if not all(channel.strip() for channel in channels):
            raise ValueError("channel names must not be blank")
        return channels


def select_policy(policies: Iterable[SlaPolicy], channel: str) -> SlaPolicy | None:
    """The policy for ``channel``: one that names the channel beats a catch-all (``channels`` None);
    between equals, the first in ``policies`` wins, so the caller's order is the tie-break."""
    catch_all: SlaPolicy | None = None
    for policy in policies:
        if policy.channels is None:
            if catch_all is None:
                catch_all = policy
        elif channel in policy.channels:
            return policy
    return catch_all


def deadline(policy: SlaPolicy, band: Band, kind: TargetKind, started_at: datetime) -> datetime | None:
    """When the target of ``kind`` for ``band`` falls due (UTC), counting business time from
    ``started_at``; None when the policy sets no such target."""
    _require_kind(kind)
    targets = policy.targets.get(band)
    seconds = targets.seconds_for(kind) if targets is not None else None
    return None if seconds is None else policy.calendar.add(started_at, seconds)


def _require_kind(kind: str) -> None:
    if kind not in TARGET_KINDS:
        raise ValueError(f"unknown target kind {kind!r}; expected one of {', '.join(TARGET_KINDS)}")
