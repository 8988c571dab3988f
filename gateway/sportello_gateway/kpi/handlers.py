"""The KPI aggregator's bus edge: its own consumer group, so it reads the events at its own pace,
independent from the read model, with its own inbox rows (group + event id) for idempotency."""

from __future__ import annotations

from sportello.bus.base import Subscription
from sportello.contracts import (
    AgentPresenceChanged,
    ConversationAssigned,
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
    AGENTS_PRESENCE,
    CONVERSATIONS_ACTIVITY,
    CONVERSATIONS_ASSIGNMENT,
    MESSAGES_RECEIVED,
    MESSAGES_SCORED,
    Groups,
)
from sportello_gateway.kpi import service


async def on_message_received(tx: Tx, event: MessageReceived, envelope: Envelope) -> None:
    await service.record_received(tx, event)


async def on_message_scored(tx: Tx, event: MessageScored, envelope: Envelope) -> None:
    await service.record_scored(tx, event)


async def on_conversation_prioritised(tx: Tx, event: ConversationPrioritised,
                                      envelope: Envelope) -> None:
    await service.record_prioritised(tx, event)


async def on_conversation_assigned(tx: Tx, event: ConversationAssigned,
                                   envelope: Envelope) -> None:
    await service.record_assigned(tx, event)


async def on_conversation_queued(tx: Tx, event: ConversationQueued, envelope: Envelope) -> None:
    await service.record_queued(tx, event)


async def on_reply_requested(tx: Tx, event: ReplyRequested, envelope: Envelope) -> None:
    await service.record_reply_requested(tx, event)


async def on_delivery_updated(tx: Tx, event: MessageDeliveryUpdated, envelope: Envelope) -> None:
    await service.record_delivery(tx, event)


async def on_status_changed(tx: Tx, event: ConversationStatusChanged,
                            envelope: Envelope) -> None:
    await service.record_status_changed(tx, event)


async def on_presence_changed(tx: Tx, event: AgentPresenceChanged, envelope: Envelope) -> None:
    await service.record_presence(tx, event)


ROUTES: dict[type[Event], EventHandler] = {
    MessageReceived: on_message_received,
    MessageScored: on_message_scored,
    ConversationPrioritised: on_conversation_prioritised,
    ConversationAssigned: on_conversation_assigned,
    ConversationQueued: on_conversation_queued,
    ReplyRequested: on_reply_requested,
    MessageDeliveryUpdated: on_delivery_updated,
    ConversationStatusChanged: on_status_changed,
    AgentPresenceChanged: on_presence_changed,
}


async def _wants(envelope: Envelope) -> bool:
    """A prioritised event without a first-response or resolution SLA changes no KPI: skip it
    before opening a transaction (they are the bulk of that topic: every score and checkpoint)."""
    data = envelope.data
    if isinstance(data, ConversationPrioritised):
        return data.sla is not None and data.sla.kind != "next_response"
    return True


def subscriptions(ctx: Context) -> list[Subscription]:
    # A group new to a topic reads it from the earliest offset: a fresh deployment of the
    # aggregator reads the retained history in; older history comes from service.rebuild.
    return [
        subscription(ctx, Groups.GATEWAY_KPI,
                     (MESSAGES_RECEIVED, MESSAGES_SCORED, CONVERSATIONS_ASSIGNMENT,
                      CONVERSATIONS_ACTIVITY, AGENTS_PRESENCE), ROUTES, wants=_wants)
    ]
