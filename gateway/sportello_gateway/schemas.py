"""HTTP contracts of the front-end API. Separate from the event contracts on purpose: the API may
reshape what the events say without a new event version."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from sportello.values import storable_text

AssignmentState = Literal["unassigned", "queued", "assigned"]
ConversationStatus = Literal["open", "snoozed", "resolved"]
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
    snoozed_until: datetime | None = Field(
        default=None, description="While snoozed: when it opens again by itself; null when it "
                                  "waits for the customer to write (or when not snoozed).")
    assignment: AssignmentOut
    team: str | None = Field(
        description="The team that owns it: the assigned agent's, or the one it is queued for.")
    tags: list[str] = Field(description="Sorted, lower case.")
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


class AssignmentChangeOut(BaseModel):
    action: Literal["assigned", "transferred", "queued", "escalated"]
    agent: AgentOut | None = Field(description="Who holds it now (assigned, transferred).")
    agent_id: uuid.UUID | None = Field(
        description="The agent concerned: the holder, or the owner who has not answered yet "
                    "(escalated).")
    team: str | None = Field(description="The team it went to or is queued for, when known.")
    reason: str | None = Field(description="As the assignment service gave it, e.g. new, "
                                           "claimed, owner_offline; the SLA stage for escalated.")
    previous_agent_id: uuid.UUID | None = Field(description="Whom it was taken from.")
    note: str | None = Field(description="A hand-off or transfer note, when one was given.")


class StatusChangeOut(BaseModel):
    action: Literal["resolved", "reopened", "snoozed", "unsnoozed"]
    reason: str = Field(description="resolved, reopened_by_customer, reopened_by_agent, "
                                    "continued_in_private, snoozed, unsnoozed_by_customer, "
                                    "unsnoozed_by_agent, snooze_ended (its time came)")
    snoozed_until: datetime | None = Field(
        default=None, description="For snoozed: when it opens again by itself, if set.")
    by: Literal["customer", "agent"] | None = Field(
        description="Who caused it, as far as the event says; null when it does not.")


class NoteOut(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    author: str = Field(description="The agent id or subject, or api-key:<hint> for an API key.")
    text: str
    created_at: datetime

    model_config = {"json_schema_extra": {"examples": [{
        "id": "0b6f7c1e-8a0d-4f4e-9d55-1c2a3b4c5d6e",
        "conversation_id": "5f0c9a4e-2b1d-4c3e-8f7a-6b5c4d3e2f1a",
        "author": "agent-42", "text": "Customer is a journalist; escalate politely.",
        "created_at": "2026-03-02T09:15:00Z"}]}}


class TagsChangeOut(BaseModel):
    tags: list[str] = Field(description="The whole set afterwards.")
    added: list[str]
    removed: list[str]
    actor: str


class TimelineEntryOut(BaseModel):
    id: uuid.UUID = Field(description="The event's id (a message's or a note's own id).")
    kind: Literal["message", "assignment", "status", "note", "tags"]
    at: datetime
    message: MessageOut | None = Field(default=None, description="kind=message")
    assignment: AssignmentChangeOut | None = Field(default=None, description="kind=assignment")
    status: StatusChangeOut | None = Field(default=None, description="kind=status")
    note: NoteOut | None = Field(default=None, description="kind=note")
    tags: TagsChangeOut | None = Field(default=None, description="kind=tags")

    model_config = {"json_schema_extra": {"examples": [{
        "id": "9d2f0c3a-6b1e-4f7a-8c5d-2e3f4a5b6c7d", "kind": "assignment",
        "at": "2026-03-02T09:02:00Z",
        "assignment": {"action": "transferred",
                       "agent": {"id": "1c9e6f2a-3b4d-4e5f-8a7b-6c5d4e3f2a1b", "name": "Cy",
                                 "team": "claims"},
                       "agent_id": "1c9e6f2a-3b4d-4e5f-8a7b-6c5d4e3f2a1b", "team": "claims",
                       "reason": "transfer",
                       "previous_agent_id": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
                       "note": None}}]}}


class TimelinePage(BaseModel):
    items: list[TimelineEntryOut] = Field(description="Oldest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page.")


class ConversationDetail(ConversationOut):
    messages: list[MessageOut] = Field(description="In sent_at order.")
    priority_breakdown: list[FactorOut] | None = Field(
        description="Why the conversation has its priority, factor by factor.")
    sentiment_trajectory: TrajectoryOut | None = Field(
        description="The customer's mood over their messages: first, last, minimum, changes.")
    timeline: list[TimelineEntryOut] = Field(
        description="Messages, assignments, status changes, notes and tag changes, oldest first "
                    "(the first 200; see timeline_next_cursor).")
    timeline_next_cursor: str | None = Field(
        description="For GET /v1/conversations/{id}/timeline when there are more entries.")


MAX_TAGS = 20
_TAG = re.compile(r"[a-z0-9_:-]{1,50}")


def normalise_tag(raw: str) -> str:
    """Trimmed and lower-cased; then 1..50 characters of a-z 0-9 _ - : (ValueError otherwise)."""
    tag = raw.strip().lower()
    if not _TAG.fullmatch(tag):
        raise ValueError(f"{raw[:60]!r} is not a tag: 1..50 characters of a-z 0-9 _ - : after "
                         "trimming and lower-casing")
    return tag


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000,
                      description="The note; never shown to the customer.")

    @field_validator("text")
    @classmethod
    def _meaningful(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the note is blank")
        return storable_text(text)

    model_config = {"extra": "forbid", "json_schema_extra": {
        "examples": [{"text": "Customer is a journalist; escalate politely."}]}}


class TagsIn(BaseModel):
    tags: list[str] = Field(max_length=20, description=(
        "Tags are trimmed and lower-cased, then must be 1..50 characters of a-z 0-9 _ - :; "
        "at most 20 per conversation."))

    @field_validator("tags")
    @classmethod
    def _normalised(cls, tags: list[str]) -> list[str]:
        return sorted({normalise_tag(tag) for tag in tags})

    model_config = {"extra": "forbid", "json_schema_extra": {
        "examples": [{"tags": ["refund", "vip:gold"]}]}}


class TagsOut(BaseModel):
    conversation_id: uuid.UUID
    tags: list[str] = Field(description="Sorted.")

    model_config = {"json_schema_extra": {"examples": [{
        "conversation_id": "5f0c9a4e-2b1d-4c3e-8f7a-6b5c4d3e2f1a",
        "tags": ["refund", "vip:gold"]}]}}


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
