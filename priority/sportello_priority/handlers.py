"""Priority's bus edge: score inbound messages; follow replies, status, owners and CRM tiers."""

from __future__ import annotations

from sportello.bus.base import Subscription
from sportello.contracts import (
    ConversationAssigned,
    ConversationStatusChanged,
    CrmContactUpdated,
    Envelope,
    Event,
    MessageDeliveryUpdated,
    MessageReceived,
)
from sportello.db import Tx
from sportello.handling import EventHandler, subscription
from sportello.runtime import Context
from sportello.topics import (
    CONVERSATIONS_ACTIVITY,
    CONVERSATIONS_ASSIGNMENT,
    CRM_CONTACTS,
    MESSAGES_RECEIVED,
    Groups,
)
from sportello_priority import service
from sportello_priority.state import analyser_of, config_of


def subscriptions(ctx: Context) -> list[Subscription]:
    async def on_message_received(tx: Tx, event: MessageReceived, envelope: Envelope) -> None:
        scoring = service.Scoring(analyser_of(ctx), await config_of(ctx).get(tx.session))
        await service.score_message(tx, event, scoring)

    async def on_delivery_updated(tx: Tx, event: MessageDeliveryUpdated,
                                  envelope: Envelope) -> None:
        await service.record_delivery(tx, event, await config_of(ctx).get(tx.session))

    async def on_status_changed(tx: Tx, event: ConversationStatusChanged,
                                envelope: Envelope) -> None:
        await service.record_status(tx, event, await config_of(ctx).get(tx.session))

    async def on_assigned(tx: Tx, event: ConversationAssigned, envelope: Envelope) -> None:
        await service.record_team(tx, event, await config_of(ctx).get(tx.session))

    async def on_crm_contact(tx: Tx, event: CrmContactUpdated, envelope: Envelope) -> None:
        await service.record_crm_contact(tx, event)

    scoring: dict[type[Event], EventHandler] = {MessageReceived: on_message_received}
    context: dict[type[Event], EventHandler] = {
        MessageDeliveryUpdated: on_delivery_updated,
        ConversationStatusChanged: on_status_changed,
        ConversationAssigned: on_assigned,
        CrmContactUpdated: on_crm_contact,
    }
    return [
        subscription(ctx, Groups.PRIORITY_SCORER, (MESSAGES_RECEIVED,), scoring),
        subscription(ctx, Groups.PRIORITY_CONTEXT,
                     (CONVERSATIONS_ACTIVITY, CONVERSATIONS_ASSIGNMENT, CRM_CONTACTS), context),
    ]
