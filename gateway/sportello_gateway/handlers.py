"""The gateway's bus edge: every event that shapes the read model, each in its own transaction."""

from __future__ import annotations

from sportello.bus.base import Subscription
from sportello.contracts import (
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
    ReplyRequested,
)
from sportello.db import Tx
from sportello.handling import EventHandler, subscription
from sportello.runtime import Context
from sportello.topics import (
    CONVERSATIONS_ACTIVITY,
    CONVERSATIONS_ASSIGNMENT,
    MESSAGES_RECEIVED,
    MESSAGES_SCORED,
    Groups,
)
from sportello_gateway import service


async def on_message_received(tx: Tx, event: MessageReceived, envelope: Envelope) -> None:
    await service.record_received(tx, event)


async def on_message_scored(tx: Tx, event: MessageScored, envelope: Envelope) -> None:
    await service.record_scored(tx, event)


async def on_conversation_prioritised(tx: Tx, event: ConversationPrioritised,
                                     envelope: Envelope) -> None:
    await service.record_prioritised(tx, event)


async def on_conversation_assigned(tx: Tx, event: ConversationAssigned,
                                   envelope: Envelope) -> None:
    await service.record_assigned(tx, event, envelope.id)


async def on_conversation_queued(tx: Tx, event: ConversationQueued, envelope: Envelope) -> None:
    await service.record_queued(tx, event, envelope.id)


async def on_conversation_escalated(tx: Tx, event: ConversationEscalated,
                                    envelope: Envelope) -> None:
    await service.record_escalated(tx, event, envelope.id)


async def on_reply_requested(tx: Tx, event: ReplyRequested, envelope: Envelope) -> None:
    await service.record_reply_requested(tx, event)


async def on_delivery_updated(tx: Tx, event: MessageDeliveryUpdated, envelope: Envelope) -> None:
    await service.record_delivery(tx, event)


async def on_status_changed(tx: Tx, event: ConversationStatusChanged,
                            envelope: Envelope) -> None:
    await service.record_status_changed(tx, event, envelope.id)


ROUTES: dict[type[Event], EventHandler] = {
    MessageReceived: on_message_received,
    MessageScored: on_message_scored,
    ConversationPrioritised: on_conversation_prioritised,
    ConversationAssigned: on_conversation_assigned,
    ConversationQueued: on_conversation_queued,
    ConversationEscalated: on_conversation_escalated,
    ReplyRequested: on_reply_requested,
    MessageDeliveryUpdated: on_delivery_updated,
    ConversationStatusChanged: on_status_changed,
}


def subscriptions(ctx: Context) -> list[Subscription]:
    # One group over the four topics: the read model is one consumer, its handlers commute.
    # A topic new to the group is read from its earliest offset, so its history is read in.
    return [
        subscription(ctx, Groups.GATEWAY_READ_MODEL,
                     (MESSAGES_RECEIVED, MESSAGES_SCORED, CONVERSATIONS_ASSIGNMENT,
                      CONVERSATIONS_ACTIVITY), ROUTES)
    ]
