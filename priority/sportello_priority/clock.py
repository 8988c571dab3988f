"""SLA clocks on conversations: which clock runs, its deadline, the checkpoints that raise the
priority as the deadline nears, and the SLA factor of the score.

A clock starts with the first unanswered inbound message (first response, or next response after
an earlier one) and stops when a response goes out or the conversation is resolved. Its band comes
from the conversation's priority *without* time pressure, so the deadline is fixed when the clock
starts and only tightens if a later message raises the band.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sportello.contracts import SlaState
from sportello_priority.composition import FactorValue
from sportello_priority.sla import (
    SlaPolicy,
    band_of,
    checkpoints,
    deadline,
    risk,
    select_policy,
    stage_of,
)


@dataclass(frozen=True, slots=True)
class Clock:
    kind: str
    policy: SlaPolicy
    band: str
    started_at: datetime
    deadline: datetime

    def checkpoints(self) -> list[tuple[str, datetime]]:
        """(stage, due_at) for every stage after on_track: halfway, at_risk, critical, breached."""
        return [(point.stage, point.due_at)
                for point in checkpoints(self.policy.calendar, self.started_at, self.deadline)]

    def stage(self, now: datetime) -> str:
        # A checkpoint is taken at its due instant; float rounding must not leave it a hair short.
        return stage_of(self.risk(now) + 1e-6)

    def risk(self, now: datetime) -> float:
        return risk(self.policy.calendar, self.started_at, self.deadline, now)

    def state(self, now: datetime) -> SlaState:
        return SlaState(kind=self.kind, policy=self.policy.name, band=self.band,  # type: ignore[arg-type]
                        started_at=self.started_at, deadline=self.deadline,
                        stage=self.stage(now), risk=round(max(0.0, self.risk(now)), 4))  # type: ignore[arg-type]

    def factor(self, now: datetime) -> FactorValue:
        used = max(0.0, self.risk(now))
        stage = self.stage(now)
        what = self.kind.replace("_", " ")
        if stage == "breached":
            return FactorValue(1.0, f"{what} deadline missed ({self.policy.name}, {self.band})")
        return FactorValue(round(min(1.0, used), 4),
                           f"{used:.0%} of the {what} time used ({self.policy.name}, {self.band}; "
                           f"due {self.deadline:%Y-%m-%d %H:%M} UTC)")


def start(policies: list[SlaPolicy], channel: str, intrinsic_priority: float, kind: str,
          started_at: datetime) -> Clock | None:
    policy = select_policy(policies, channel)
    if policy is None:
        return None
    band = band_of(intrinsic_priority)
    due = deadline(policy, band, kind, started_at)  # type: ignore[arg-type]
    if due is None:
        return None
    return Clock(kind=kind, policy=policy, band=band, started_at=started_at, deadline=due)


def tighter(current: Clock | None, candidate: Clock | None) -> Clock | None:
    """A later message that raises the band can only bring the deadline closer."""
    if current is None or candidate is None:
        return current or candidate
    return candidate if candidate.deadline < current.deadline else current


def no_clock() -> FactorValue:
    return FactorValue(0.0, "no SLA clock running")
