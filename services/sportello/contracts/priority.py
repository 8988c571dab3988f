"""What priority says about messages and conversations: scores that explain themselves.

A score is a sum of factors; each factor is a value in [0, 1] times its weight, with a reason a
person can read. ``MessageScored`` explains one inbound message; ``ConversationPrioritised`` is the
conversation's current priority (it also moves with time, as an SLA deadline nears).
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sportello.contracts.envelope import Event

SentimentLabel = Literal["negative", "neutral", "positive"]
PriorityBand = Literal["urgent", "high", "normal", "low"]
# A band is the score's quarter, from the top: urgent >= 75, high >= 50, normal >= 25, low below.
# Here, not in priority, because assignment reads a band from a score too (older events).
BAND_FLOORS: tuple[tuple[PriorityBand, float], ...] = (
    ("urgent", 75.0), ("high", 50.0), ("normal", 25.0))


def band_of(priority: float) -> PriorityBand:
    if math.isnan(priority):
        raise ValueError("priority is NaN")
    for band, floor in BAND_FLOORS:
        if priority >= floor:
            return band
    return "low"
SlaKind = Literal["first_response", "next_response", "resolution"]
# By the share of the allowed business time used: < 0.5, 0.5, 0.75, 0.9, 1 (deadline missed).
SlaStage = Literal["on_track", "halfway", "at_risk", "critical", "breached"]


class Sentiment(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: SentimentLabel
    # -1 (very negative) .. +1 (very positive): P(positive) - P(negative) when probabilities exist.
    score: float = Field(ge=-1, le=1)
    # Added in place (optional): the three probabilities, in label order.
    negative: float | None = Field(default=None, ge=0, le=1)
    neutral: float | None = Field(default=None, ge=0, le=1)
    positive: float | None = Field(default=None, ge=0, le=1)


class PriorityFactor(BaseModel):
    """One line of the explanation: how much a factor added to the score, and why."""

    model_config = ConfigDict(frozen=True)

    factor: str
    contribution: float
    reason: str
    # Added in place (optional): contribution = value x weight.
    value: float | None = None
    weight: float | None = None


class Intent(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(description="complaint, question, praise, lead, outage, cancellation_threat, "
                                  "legal_threat, abusive, spam or other")
    confidence: float = Field(ge=0, le=1)
    cues: tuple[str, ...] = ()
    all: tuple[str, ...] = ()


class MessageScored(Event):
    """Priority scored an inbound message (``conversation_priority``: the conversation's priority
    right after it; later changes come as conversation.prioritised)."""

    event_type = "message.scored"
    event_version = 1

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    channel: str
    sent_at: datetime
    sentiment: Sentiment
    score: float = Field(ge=0, le=100)
    breakdown: tuple[PriorityFactor, ...]
    conversation_priority: float = Field(ge=0, le=100)
    scorer: str
    # Added in place (optional):
    intent: Intent | None = None
    urgency: float | None = Field(default=None, ge=0, le=1)
    # Added in place (optional), what routing needs without a second event: the brand account the
    # customer wrote to, the language detected (ISO 639-1), the conversation's band and the
    # deadline of its running SLA clock.
    account: str | None = None
    language: str | None = None
    conversation_band: PriorityBand | None = None
    sla_deadline: datetime | None = None


class SentimentPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: uuid.UUID
    at: datetime
    label: SentimentLabel
    score: float


class SentimentTransition(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: uuid.UUID
    at: datetime
    from_label: SentimentLabel
    to_label: SentimentLabel


class SentimentTrajectory(BaseModel):
    """How the customer's mood moved over the conversation's inbound messages, in sent order."""

    model_config = ConfigDict(frozen=True)

    first: SentimentPoint
    last: SentimentPoint
    minimum: SentimentPoint = Field(description="The most negative message")
    transitions: tuple[SentimentTransition, ...] = Field(
        description="Each change of label from one message to the next (the latest 50)")
    transition_count: int
    messages: int


class SlaState(BaseModel):
    """The SLA clock that is running (or just breached) for a conversation."""

    model_config = ConfigDict(frozen=True)

    kind: SlaKind
    policy: str
    band: PriorityBand
    started_at: datetime
    deadline: datetime
    stage: SlaStage
    risk: float = Field(ge=0, description="Business time used / allowed; 1 or more = breached")


class ConversationPrioritised(Event):
    """A conversation's priority, explained, as of ``at``. ``sequence`` orders the changes of one
    conversation: consumers keep the newest. Sent when a message is scored, when an SLA checkpoint
    comes due, when the SLA clock stops or starts, and when weights change."""

    event_type = "conversation.prioritised"
    event_version = 1

    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    priority: float = Field(ge=0, le=100)
    band: PriorityBand
    breakdown: tuple[PriorityFactor, ...]
    weights_profile: str
    sla: SlaState | None
    trajectory: SentimentTrajectory | None
    reason: Literal["message_scored", "sla_checkpoint", "sla_clock", "weights_changed",
                    "customer_updated", "correction",
                    # Added in place: a supervisor set or cleared an override (or it expired).
                    "overridden", "override_cleared"]
    sequence: int
    at: datetime
