"""Shared by priority's tests: messages to publish, and what priority said about them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sportello.bus.codec import decode, encode
from sportello.bus.memory import InMemoryBus
from sportello.contracts import (
    Author,
    ConversationPrioritised,
    Envelope,
    Event,
    MessageReceived,
    MessageScored,
)
from sportello.topics import MESSAGES_SCORED, Topic, topic_for


def received(conversation: uuid.UUID, text: str, *, customer: uuid.UUID | None = None,
             direction: str = "inbound", channel: str = "x", sent_at: datetime | None = None,
             followers: int | None = None, handle: str | None = None,
             account: str | None = "x:brand", opened: bool = False) -> MessageReceived:
    now = datetime.now(UTC)
    return MessageReceived(
        message_id=uuid.uuid4(), conversation_id=conversation,
        customer_id=customer or uuid.uuid5(uuid.NAMESPACE_URL, str(conversation)),
        conversation_opened=opened, channel=channel, external_id=uuid.uuid4().hex,
        direction=direction,  # type: ignore[arg-type]
        author=Author(id="a", display_name="A", followers=followers, handle=handle),
        text=text, sent_at=sent_at or now, received_at=now, account=account,
    )


async def publish(bus: Any, *events: Event, subject: str | None = None) -> None:
    records = []
    for event in events:
        topic: Topic = topic_for(type(event))
        key = subject or str(getattr(event, "conversation_id", getattr(event, "customer_id", "")))
        records.append(encode(Envelope.wrap(event, source="test", correlation_id="t",
                                            subject=key), topic))
    await bus.publish(records)


def _out(bus: InMemoryBus) -> list[Event]:
    return [decode(r, MESSAGES_SCORED).data for r in bus.records(MESSAGES_SCORED.name)]


def scores(bus: InMemoryBus, conversation: uuid.UUID) -> list[MessageScored]:
    return [e for e in _out(bus) if isinstance(e, MessageScored)
            and e.conversation_id == conversation]


def priorities(bus: InMemoryBus, conversation: uuid.UUID) -> list[ConversationPrioritised]:
    """conversation.prioritised events of one conversation, by sequence."""
    found = [e for e in _out(bus) if isinstance(e, ConversationPrioritised)
             and e.conversation_id == conversation]
    return sorted(found, key=lambda e: e.sequence)


def latest(bus: InMemoryBus, conversation: uuid.UUID) -> ConversationPrioritised | None:
    found = priorities(bus, conversation)
    return found[-1] if found else None
