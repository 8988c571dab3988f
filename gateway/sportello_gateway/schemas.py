"""HTTP contracts of the front-end API. Separate from the event contracts on purpose: the API may
reshape what the events say without a new event version."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

AssignmentState = Literal["unassigned", "queued", "assigned"]
ConversationStatus = Literal["open", "resolved"]


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


class ConversationOut(BaseModel):
    id: uuid.UUID
    customer: CustomerOut
    channel: str
    status: ConversationStatus
    assignment: AssignmentOut
    priority: float = Field(description="0..100; the highest score of the conversation's messages.")
    sentiment: SentimentOut | None = Field(
        description="Of the latest scored inbound message; null when none is scored yet."
    )
    opened_at: datetime
    last_message_at: datetime
    message_count: int
    first_response_at: datetime | None = Field(
        description="The first outbound message after the first inbound one."
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
    external_id: str
    direction: Literal["inbound", "outbound"]
    author: AuthorOut
    text: str
    sent_at: datetime
    score: ScoreOut | None = Field(description="Null until the message is scored.")


class ConversationDetail(ConversationOut):
    messages: list[MessageOut] = Field(description="In sent_at order.")


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
    volume: Volume = Field(description="Messages sent since `since`.")
    conversations: ConversationCounts = Field(description="Open conversations now.")
    first_response_seconds: FirstResponseSeconds = Field(
        description="Over conversations whose first response happened since `since`."
    )
