"""Events as the other services publish them, with defaults so a test states only what matters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from fastapi import FastAPI

from sportello.bus.codec import encode
from sportello.contracts import (
    AgentRef,
    Author,
    ConversationAssigned,
    ConversationEscalated,
    ConversationPrioritised,
    ConversationQueued,
    ConversationStatusChanged,
    Envelope,
    Event,
    MessageDeliveryUpdated,
    MessageReceived,
    MessageScored,
    PriorityFactor,
    ReplyRequested,
    Sentiment,
    SentimentPoint,
    SentimentTrajectory,
    SentimentTransition,
    SlaState,
)
from sportello.db import Database
from sportello.topics import topic_for
from sportello_gateway.handlers import ROUTES


def received(conversation_id: uuid.UUID, customer_id: uuid.UUID, sent_at: datetime, *,
             direction: str = "inbound", channel: str = "chat", text: str = "hello",
             author: str = "Ada", message_id: uuid.UUID | None = None,
             received_at: datetime | None = None, **extra: Any) -> MessageReceived:
    message_id = message_id or uuid.uuid4()
    return MessageReceived(
        message_id=message_id, conversation_id=conversation_id, customer_id=customer_id,
        conversation_opened=False, channel=channel, external_id=f"ext-{message_id}",
        direction=direction,  # type: ignore[arg-type]
        author=Author(id=f"author-{author}", display_name=author), text=text, sent_at=sent_at,
        received_at=received_at or sent_at + timedelta(seconds=1), **extra,
    )


def scored(message: MessageReceived, *, score: float, conversation_priority: float,
           label: str = "negative", sentiment: float = -0.5) -> MessageScored:
    return MessageScored(
        message_id=message.message_id, conversation_id=message.conversation_id,
        customer_id=message.customer_id, channel=message.channel, sent_at=message.sent_at,
        sentiment=Sentiment(label=label, score=sentiment),  # type: ignore[arg-type]
        score=score,
        breakdown=(PriorityFactor(factor="sentiment", contribution=score / 2, reason="angry"),
                   PriorityFactor(factor="followers", contribution=score / 2, reason="many")),
        conversation_priority=conversation_priority, scorer="rules-v1",
    )


def prioritised(conversation_id: uuid.UUID, customer_id: uuid.UUID, sequence: int, *,
                priority: float, at: datetime, stage: str | None = "on_track", band: str = "normal",
                moods: Sequence[tuple[uuid.UUID, str, float]] = ()) -> ConversationPrioritised:
    """``moods``: (message id, label, score) of the inbound messages so far, a minute apart."""
    points = [SentimentPoint(message_id=m, at=at + timedelta(minutes=i), label=label,  # type: ignore[arg-type]
                             score=score) for i, (m, label, score) in enumerate(moods)]
    transitions = [SentimentTransition(message_id=b.message_id, at=b.at, from_label=a.label,
                                       to_label=b.label)
                   for a, b in pairwise(points) if a.label != b.label]
    trajectory = SentimentTrajectory(
        first=points[0], last=points[-1], minimum=min(points, key=lambda p: p.score),
        transitions=tuple(transitions), transition_count=len(transitions), messages=len(points),
    ) if points else None
    sla = SlaState(kind="first_response", policy="default", band="normal", started_at=at,
                   deadline=at + timedelta(hours=4), stage=stage,  # type: ignore[arg-type]
                   risk=1.0 if stage == "breached" else 0.2) if stage else None
    return ConversationPrioritised(
        conversation_id=conversation_id, customer_id=customer_id, priority=priority,
        band=band, weights_profile="default",  # type: ignore[arg-type]
        breakdown=(PriorityFactor(factor="base", contribution=5, value=1, weight=5, reason="base"),
                   PriorityFactor(factor="sla", contribution=priority - 5, value=1, weight=15,
                                  reason=f"sequence {sequence}")),
        sla=sla, trajectory=trajectory, reason="sla_checkpoint", sequence=sequence, at=at,
    )


def assigned(conversation_id: uuid.UUID, customer_id: uuid.UUID, sequence: int, *,
             agent_id: uuid.UUID | None = None, name: str = "Bea", team: str = "care",
             at: datetime, reason: str = "new",
             previous_agent_id: uuid.UUID | None = None) -> ConversationAssigned:
    return ConversationAssigned(
        conversation_id=conversation_id, customer_id=customer_id,
        agent=AgentRef(id=agent_id or uuid.uuid4(), name=name, team=team),
        reason=reason,  # type: ignore[arg-type]
        priority=0, sequence=sequence, assigned_at=at, previous_agent_id=previous_agent_id,
    )


def queued(conversation_id: uuid.UUID, customer_id: uuid.UUID, sequence: int, *,
           at: datetime, team: str | None = None, reason: str = "new",
           note: str | None = None) -> ConversationQueued:
    return ConversationQueued(conversation_id=conversation_id, customer_id=customer_id,
                              priority=0, sequence=sequence, queued_at=at, team=team,
                              reason=reason,  # type: ignore[arg-type]
                              note=note)


def escalated(conversation_id: uuid.UUID, customer_id: uuid.UUID, sequence: int, *,
              at: datetime, agent_id: uuid.UUID | None = None,
              stage: str = "at_risk") -> ConversationEscalated:
    return ConversationEscalated(conversation_id=conversation_id, customer_id=customer_id,
                                 agent_id=agent_id, stage=stage, deadline=None,
                                 sequence=sequence, at=at)


def reply(conversation_id: uuid.UUID, customer_id: uuid.UUID, requested_at: datetime, *,
          text: str = "we are on it", agent_id: str | None = "agent-bea", channel: str = "chat",
          visibility: str = "public", message_id: uuid.UUID | None = None) -> ReplyRequested:
    return ReplyRequested(
        message_id=message_id or uuid.uuid4(), conversation_id=conversation_id,
        customer_id=customer_id, channel=channel, account="chat:brand",
        visibility=visibility,  # type: ignore[arg-type]
        text=text, agent_id=agent_id, requested_at=requested_at,
    )


def delivery(of: ReplyRequested, status: str, at: datetime, *, external_id: str | None = None,
             error: str | None = None) -> MessageDeliveryUpdated:
    return MessageDeliveryUpdated(
        message_id=of.message_id, conversation_id=of.conversation_id, channel=of.channel,
        external_id=external_id, status=status,  # type: ignore[arg-type]
        error=error, at=at,
    )


_DEFAULT_REASON = {"resolved": "resolved", "snoozed": "snoozed", "open": "reopened_by_agent"}


def status_changed(conversation_id: uuid.UUID, customer_id: uuid.UUID, sequence: int,
                   status: str, *, at: datetime, reason: str | None = None,
                   snoozed_until: datetime | None = None) -> ConversationStatusChanged:
    return ConversationStatusChanged(
        conversation_id=conversation_id, customer_id=customer_id,
        status=status, reason=reason or _DEFAULT_REASON[status],  # type: ignore[arg-type]
        sequence=sequence, at=at, snoozed_until=snoozed_until,
    )


def envelope(event: Event) -> Envelope:
    subject = str(getattr(event, "conversation_id", ""))
    return Envelope.wrap(event, source="test", correlation_id="c", subject=subject)


async def apply(db: Database, events: Sequence[Event | Envelope]) -> None:
    """Run the gateway's handlers directly, one transaction per event, as the bus edge would
    (without its inbox: a redelivery here reaches the handler, which must absorb it). Pass an
    Envelope to choose the event id (a redelivery keeps its id)."""
    for item in events:
        wrapped = item if isinstance(item, Envelope) else envelope(item)
        async with db.transaction() as tx:
            await ROUTES[type(wrapped.data)](tx, wrapped.data, wrapped)


async def publish(app: FastAPI, events: Sequence[Event]) -> None:
    records = [encode(envelope(event), topic_for(type(event))) for event in events]
    await app.state.runtime.bus.publish(records)
