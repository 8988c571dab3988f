"""The gateway's bus edge: every event that shapes the read model, each in its own transaction."""

from __future__ import annotations

from sportello.bus.base import Subscription
from sportello.contracts import (
    ConversationAssigned,
    ConversationQueued,
    Envelope,
    Event,
    MessageReceived,
    MessageScored,
)
from sportello.db import Tx
from sportello.handling import EventHandler, subscription
from sportello.runtime import Context
from sportello.topics import CONVERSATIONS_ASSIGNMENT, MESSAGES_RECEIVED, MESSAGES_SCORED, Groups
from sportello_gateway import service


async def on_message_received(tx: Tx, event: MessageReceived, envelope: Envelope) -> None:
    await service.record_received(tx, event)


async def on_message_scored(tx: Tx, event: MessageScored, envelope: Envelope) -> None:
    await service.record_scored(tx, event)


async def on_conversation_assigned(tx: Tx, event: ConversationAssigned,
                                   envelope: Envelope) -> None:
    await service.record_assigned(tx, event)


async def on_conversation_queued(tx: Tx, event: ConversationQueued, envelope: Envelope) -> None:
    await service.record_queued(tx, event)


ROUTES: dict[type[Event], EventHandler] = {
    MessageReceived: on_message_received,
    MessageScored: on_message_scored,
    ConversationAssigned: on_conversation_assigned,
    ConversationQueued: on_conversation_queued,
}


def subscriptions(ctx: Context) -> list[Subscription]:
    # One group over the three topics: the read model is one consumer, its handlers commute.
    return [
        subscription(ctx, Groups.GATEWAY_READ_MODEL,
                     (MESSAGES_RECEIVED, MESSAGES_SCORED, CONVERSATIONS_ASSIGNMENT), ROUTES)
    ]
