"""One explainable number: each factor's value in [0, 1] times its weight, plus a base.

The message's text gives sentiment, urgency and intent; the customer gives influence; the clock
gives SLA pressure. Nothing here does I/O, so the same rules serve the Kafka handler, the SLA
checkpoints, the ``score`` command and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sportello.contracts import PriorityFactor
from sportello_priority.analysis import TextAnalysis
from sportello_priority.weights import FACTORS, Weights

# What each intent means for a care queue. Legal threats and outages first (risk, many customers),
# spam last; a pre-sales lead ranks with a complaint: revenue waiting for an answer.
INTENT_IMPORTANCE = {
    "legal_threat": 1.0, "outage": 0.9, "cancellation_threat": 0.85, "complaint": 0.6,
    "lead": 0.6, "question": 0.4, "abusive": 0.3, "other": 0.2, "praise": 0.1, "spam": 0.0,
}
# The factors a message's text gives (text_factors); a conversation keeps the strongest of each.
TEXT_FACTORS = ("sentiment", "urgency", "intent")


@dataclass(frozen=True, slots=True)
class FactorValue:
    value: float  # 0..1
    reason: str


def text_factors(analysis: TextAnalysis) -> dict[str, FactorValue]:
    sentiment = analysis.sentiment
    intent = analysis.intent
    importance = INTENT_IMPORTANCE.get(intent.name, 0.2)
    cues = ", ".join(f"'{cue}'" for cue in intent.cues[:3])
    urgency = analysis.urgency
    return {
        "sentiment": FactorValue(
            round(sentiment.negative, 4),
            f"{sentiment.label} (P(negative) {sentiment.negative:.2f}, "
            f"P(positive) {sentiment.positive:.2f})"),
        "intent": FactorValue(
            round(importance * (0.5 + 0.5 * intent.confidence), 4),
            f"{intent.name.replace('_', ' ')}" + (f" ({cues})" if cues else "")),
        "urgency": FactorValue(
            round(urgency.value, 4),
            "urgency cues: " + ", ".join(f"'{c}'" for c in urgency.cues[:4])
            if urgency.cues else "no urgency cues"),
    }


def strongest(first: dict[str, FactorValue], second: dict[str, FactorValue]) -> dict[str, FactorValue]:
    """Factor by factor, the higher value: a calm follow-up does not hide an unanswered threat."""
    return {name: max(first[name], second[name], key=lambda f: f.value) for name in first}


def compose(factors: dict[str, FactorValue], weights: Weights, *,
            spam: bool = False) -> tuple[float, tuple[PriorityFactor, ...]]:
    breakdown = [PriorityFactor(factor="base", contribution=weights.base, value=1.0,
                                weight=weights.base, reason="every message gets an answer")]
    for name in FACTORS:
        factor = factors.get(name, FactorValue(0.0, "not applicable"))
        weight = getattr(weights, name)
        breakdown.append(PriorityFactor(
            factor=name, contribution=round(factor.value * weight, 2), value=factor.value,
            weight=weight, reason=factor.reason))
    total = sum(f.contribution for f in breakdown)
    if spam and total > weights.base:
        # Spam keeps its place in the queue (it is still looked at) but never above real demand.
        breakdown.append(PriorityFactor(factor="spam", contribution=round(weights.base - total, 2),
                                        reason="looks like spam: held at the base"))
        total = weights.base
    return round(min(100.0, max(0.0, total)), 2), tuple(breakdown)


def intrinsic(breakdown: tuple[PriorityFactor, ...]) -> float:
    """The priority without time pressure: what decides the SLA band (so the band, and with it the
    deadline, does not move just because time passes)."""
    return round(sum(f.contribution for f in breakdown if f.factor != "sla"), 2)


@dataclass(frozen=True, slots=True)
class Override:
    """A supervisor's pin on a conversation's priority."""

    priority: float
    reason: str
    set_by: str
    expires_at: datetime | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Override:
        """From its stored row."""
        return cls(priority=row["priority"], reason=row["reason"], set_by=row["set_by"],
                   expires_at=row["expires_at"])

    def in_force(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


def overridden(breakdown: tuple[PriorityFactor, ...],
               override: Override) -> tuple[float, tuple[PriorityFactor, ...]]:
    """The override's priority, explained: the model's factors stay as they were (what the model
    thinks remains visible) and an ``override`` line makes up the difference, so the breakdown
    still adds up to the priority."""
    model = round(sum(f.contribution for f in breakdown), 2)
    line = PriorityFactor(
        factor="override", contribution=round(override.priority - model, 2),
        reason=f"set to {override.priority:g} by {override.set_by}: {override.reason}"
               + (f" (until {override.expires_at.isoformat()})" if override.expires_at else ""))
    return override.priority, (*breakdown, line)
