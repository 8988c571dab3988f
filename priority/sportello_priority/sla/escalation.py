"""Time pressure on an SLA deadline: the checkpoint instants where a conversation's stage changes, and
how much of its allowed business time is used.

The service stores a conversation's checkpoints and acts only when one comes due, so the work grows
with what falls due, not with the backlog. Stages by the share of allowed business time used:
on_track < 0.5 <= halfway < 0.75 <= at_risk < 0.9 <= critical < 1.0 <= breached.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Literal, NamedTuple

from sportello.calendar.calendar import BusinessCalendar
from sportello.calendar.wallclock import as_utc

Stage = Literal["on_track", "halfway", "at_risk", "critical", "breached"]
STAGE_FLOORS: tuple[tuple[Stage, float], ...] = (
    ("breached", 1.0), ("critical", 0.9), ("at_risk", 0.75), ("halfway", 0.5))
DEFAULT_FRACTIONS = (0.5, 0.75, 0.9, 1.0)
_ROUNDING = 1e-6  # twice the worst rounding (half a microsecond) for targets of a second or more


class Checkpoint(NamedTuple):
    stage: Stage  # the stage entered at due_at
    fraction: float  # share of the allowed business time used by then
    due_at: datetime  # UTC


def stage_of(used: float) -> Stage:
    """The stage for a share of allowed business time used (a ``risk`` value). A share a hair below a
    floor counts as reached: checkpoint instants are rounded to whole microseconds, so ``risk`` at a
    checkpoint may come out a millionth short of its fraction, and must still name its stage."""
    for stage, floor in STAGE_FLOORS:
        if used >= floor - _ROUNDING:
            return stage
    return "on_track"


def checkpoints(calendar: BusinessCalendar, started_at: datetime, deadline: datetime,
                fractions: Iterable[float] = DEFAULT_FRACTIONS) -> list[Checkpoint]:
    """For each fraction (ascending, duplicates dropped), the earliest instant at which that share of the
    business time between ``started_at`` and ``deadline`` has elapsed. Fraction 1.0 is the deadline itself
    when it came from ``deadline()``/``add`` (a hand-set deadline in closed hours is reached at the last
    closing before it, as ``risk`` says); fractions above 1 track an overrun."""
    start, end = _ordered(started_at, deadline)
    shares = sorted(set(fractions))
    if not all(math.isfinite(share) and share > 0 for share in shares):
        raise ValueError(f"fractions must be finite and > 0, got {shares}")
    allowed = calendar.between(start, end)
    return [Checkpoint(stage_of(share), share, calendar.add(start, share * allowed)) for share in shares]


def risk(calendar: BusinessCalendar, started_at: datetime, deadline: datetime, now: datetime) -> float:
    """Business time used / business time allowed: 0 at the start, 1 at the deadline, > 1 after it
    (unbounded; ``min(risk, 1.0)`` makes a 0..1 priority component). With no business time allowed,
    everything is due at once: 1.0 from ``started_at`` on."""
    start, end = _ordered(started_at, deadline)
    allowed = calendar.between(start, end)
    if allowed == 0:
        return 1.0 if as_utc(now, "now") >= start else 0.0
    return calendar.between(start, now) / allowed


def _ordered(started_at: datetime, deadline: datetime) -> tuple[datetime, datetime]:
    start, end = as_utc(started_at, "started_at"), as_utc(deadline, "deadline")
    if end < start:
        raise ValueError(f"deadline {end.isoformat()} is before the start {start.isoformat()}")
    return start, end
