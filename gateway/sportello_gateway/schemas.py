"""HTTP contracts of the front-end API. Separate from the event contracts on purpose: the API may
reshape what the events say without a new event version."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

AssignmentState = Literal["unassigned", "queued", "assigned"]
ConversationStatus = Literal["open", "resolved"]
DeliveryStatus = Literal["pending", "sent", "delivered", "read", "failed"]


class CustomerOut(BaseModel):
    id: uuid.UUID
    display_name: str | None = Field(
        description="As the customer's latest inbound message named them; null if none yet."
    )


class AgentOut(BaseModel):
    id: uuid.UUID
    name: str
    team: str


class AssignmentOut(BaseModel):
    state: AssignmentState
    agent: AgentOut | None
    assigned_at: datetime | None


class SentimentOut(BaseModel):
    label: Literal["negative", "neutral", "positive"]
    score: float = Field(description="-1 (very negative) .. +1 (very positive)")


class SlaOut(BaseModel):
    kind: Literal["first_response", "next_response", "resolution"]
    policy: str
    band: Literal["urgent", "high", "normal", "low"]
    started_at: datetime
    deadline: datetime
    stage: Literal["on_track", "halfway", "at_risk", "critical", "breached"] = Field(
        description="By the share of the allowed business time used: <50%, 50%, 75%, 90%, missed")
    risk: float = Field(description="Business time used / allowed as of the last change; >= 1 breached")


class ConversationOut(BaseModel):
    id: uuid.UUID
    customer: CustomerOut
    channel: str
    status: ConversationStatus
    resolved_at: datetime | None = Field(description="When it was resolved; null while open.")
    assignment: AssignmentOut
    priority: float = Field(description="0..100, explained in the detail's priority_breakdown.")
    priority_band: Literal["urgent", "high", "normal", "low"] | None = Field(
        description="The band SLA targets are set for (from the priority without time pressure).")
    sla: SlaOut | None = Field(description="The SLA clock running; null when none is.")
    sentiment: SentimentOut | None = Field(
        description="Of the latest scored inbound message; null when none is scored yet."
    )
    opened_at: datetime
    last_message_at: datetime
    message_count: int
    first_response_at: datetime | None = Field(
        description="When the first outbound message after the first inbound one went out: an "
                    "agent's reply counts once sent (not when requested), a failed one never."
    )


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class FactorOut(BaseModel):
    factor: str
    contribution: float
    reason: str
    value: float | None = Field(default=None, description="0..1; contribution = value x weight")
    weight: float | None = None


class SentimentPointOut(BaseModel):
    message_id: uuid.UUID
    at: datetime
    label: Literal["negative", "neutral", "positive"]
    score: float


class SentimentTransitionOut(BaseModel):
    message_id: uuid.UUID
    at: datetime
    from_label: Literal["negative", "neutral", "positive"]
    to_label: Literal["negative", "neutral", "positive"]


class TrajectoryOut(BaseModel):
    first: SentimentPointOut
    last: SentimentPointOut
    minimum: SentimentPointOut = Field(description="The most negative inbound message")
    transitions: list[SentimentTransitionOut] = Field(description="Label changes (latest 50)")
    transition_count: int
    messages: int


class ScoreOut(BaseModel):
    value: float
    sentiment: SentimentOut
    breakdown: list[FactorOut]
    scorer: str


class AuthorOut(BaseModel):
    id: str
    display_name: str


class MessageOut(BaseModel):
    id: uuid.UUID
    channel: str
    external_id: str | None = Field(
        description="The platform's id; null for an agent's reply not sent yet."
    )
    direction: Literal["inbound", "outbound"]
    author: AuthorOut | None = Field(
        description="As the platform named them; null for an agent's reply (see agent_id)."
    )
    agent_id: str | None = Field(description="Who wrote it, for an agent's reply.")
    account: str | None = Field(description="The brand account, e.g. x:2244994945, when known.")
    visibility: Literal["public", "private"]
    flags: list[str] = Field(description="Platform hints, e.g. spam, possibly_sensitive.")
    text: str
    sent_at: datetime = Field(description="For an agent's reply, when it was requested.")
    delivery_status: DeliveryStatus | None = Field(
        description="Outbound messages only; only ever moves forward."
    )
    delivery_error: str | None = Field(description="Why it failed, when it did.")
    score: ScoreOut | None = Field(description="Null until the message is scored.")


class ConversationDetail(ConversationOut):
    messages: list[MessageOut] = Field(description="In sent_at order.")
    priority_breakdown: list[FactorOut] | None = Field(
        description="Why the conversation has its priority, factor by factor.")
    sentiment_trajectory: TrajectoryOut | None = Field(
        description="The customer's mood over their messages: first, last, minimum, changes.")


class Volume(BaseModel):
    inbound: int
    outbound: int
    by_channel: dict[str, int] = Field(description="Inbound messages per channel.")


class ConversationCounts(BaseModel):
    open: int
    unassigned: int
    queued: int
    assigned: int


class FirstResponseSeconds(BaseModel):
    count: int
    median: float | None
    p90: float | None
    mean: float | None


class MetricsSummary(BaseModel):
    since: datetime
    volume: Volume = Field(
        description="Messages sent since `since`; an agent's reply from when it was requested."
    )
    conversations: ConversationCounts = Field(description="Open conversations now.")
    first_response_seconds: FirstResponseSeconds = Field(
        description="Over conversations whose first response happened since `since`."
    )
