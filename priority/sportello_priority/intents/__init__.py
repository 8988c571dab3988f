"""Intent and urgency from the text (interface; cue lists and rules live beside it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sportello_priority.sentiment import SentimentProbs

IntentName = Literal[
    "complaint", "question", "praise", "lead", "outage", "cancellation_threat", "legal_threat",
    "abusive", "spam", "other",
]


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


def detect_intent(text: str, sentiment: SentimentProbs | None = None) -> IntentResult:
    lowered = text.lower()
    if "?" in text:
        return IntentResult("question", 0.6, ("?",), ("question",))
    if sentiment is not None and sentiment.label == "negative":
        return IntentResult("complaint", sentiment.negative, (), ("complaint",))
    if sentiment is not None and sentiment.label == "positive" and "thank" in lowered:
        return IntentResult("praise", sentiment.positive, ("thank",), ("praise",))
    return IntentResult("other", 0.5)


def detect_urgency(text: str) -> UrgencyResult:
    from sportello_priority.scorer import _urgency  # placeholder until the cue lists land

    value, reason = _urgency(text)
    return UrgencyResult(value=round(value / 30.0, 4), cues=(reason,) if value else ())
