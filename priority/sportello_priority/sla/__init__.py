"""SLA deadlines on business calendars: pure logic, no I/O.

A ``BusinessCalendar`` says when a team works (zone, weekly shifts, holidays); an ``SlaPolicy`` sets
targets per priority band; ``deadline`` turns a target into an instant; ``checkpoints`` and ``risk``
turn the time left into rising priority.
"""

from sportello.calendar.calendar import BusinessCalendar, Shift
from sportello_priority.sla.bands import BAND_FLOORS, BANDS, Band, band_of
from sportello_priority.sla.escalation import (
    DEFAULT_FRACTIONS,
    STAGE_FLOORS,
    Checkpoint,
    Stage,
    checkpoints,
    risk,
    stage_of,
)
from sportello_priority.sla.policy import TARGET_KINDS, SlaPolicy, SlaTargets, TargetKind, deadline, select_policy

__all__ = [
    "BANDS",
    "BAND_FLOORS",
    "DEFAULT_FRACTIONS",
    "STAGE_FLOORS",
    "TARGET_KINDS",
    "Band",
    "BusinessCalendar",
    "Checkpoint",
    "Shift",
    "SlaPolicy",
    "SlaTargets",
    "Stage",
    "TargetKind",
    "band_of",
    "checkpoints",
    "deadline",
    "risk",
    "select_policy",
    "stage_of",
]
