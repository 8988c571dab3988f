"""What intent and urgency detection return (kept apart so every module can import it without cycles)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

IntentName = Literal[
    "complaint", "question", "praise", "lead", "outage", "cancellation_threat", "legal_threat",
    "abusive", "spam", "other",
]
INTENT_NAMES: tuple[IntentName, ...] = get_args(IntentName)


@dataclass(frozen=True, slots=True)
class IntentResult:
    name: IntentName
    confidence: float
    cues: tuple[str, ...] = ()
    # Every intent recognised, strongest first (a complaint can also be a cancellation threat).
    all: tuple[IntentName, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class UrgencyResult:
    value: float  # 0 (none) .. 1 (drop everything)
    cues: tuple[str, ...] = ()
