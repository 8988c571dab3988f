"""Event payloads. Past tense names; a breaking change is a new version, never an edit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sportello.contracts.envelope import Event

Direction = Literal["inbound", "outbound"]


class Author(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    display_name: str
    followers: int | None = None


class MessageReceived(Event):
    """Ingest accepted a message and threaded it into a conversation."""

    event_type = "message.received"
    event_version = 1

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    conversation_opened: bool
    channel: str
    external_id: str
    direction: Direction
    author: Author
    text: str
    sent_at: datetime
    received_at: datetime
    reply_to: str | None = None


class Sentiment(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: Literal["negative", "neutral", "positive"]
    # -1 (very negative) .. +1 (very positive)
    score: float = Field(ge=-1, le=1)


class PriorityFactor(BaseModel):
    """One line of the explanation: how much a factor added to the score, and why."""

    model_config = ConfigDict(frozen=True)

    factor: str
    contribution: float
    reason: str


class MessageScored(Event):
    """Priority scored an inbound message; the conversation's priority is the highest open score."""

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


class AgentRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    team: str


class ConversationAssigned(Event):
    """The conversation has an owner. ``sequence`` orders assignment changes of one conversation."""

    event_type = "conversation.assigned"
    event_version = 1

    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    agent: AgentRef
    reason: Literal["new", "previous_owner", "capacity_freed"]
    priority: float
    sequence: int
    assigned_at: datetime


class ConversationQueued(Event):
    """Nobody could take the conversation; it waits in the priority-ordered queue."""

    event_type = "conversation.queued"
    event_version = 1

    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    priority: float
    sequence: int
    queued_at: datetime


class CrmSynced(Event):
    """The customer and the interaction are mirrored in the CRM."""

    event_type = "crm.synced"
    event_version = 1

    message_id: uuid.UUID
    customer_id: uuid.UUID
    crm: str
    crm_contact_id: str | None
    crm_interaction_id: str | None
    status: Literal["synced", "not_configured"]
