"""crm-sync's bus edge: two consumer groups, one transaction per event (opened by ``subscription``).

The CRM mirror queues history and contact jobs; the webhook fan-out queues one job per interested
subscription. Neither calls anything outside: a CRM or subscriber outage never slows consumption,
and the queue keeps what was accepted until it is delivered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sportello.bus.base import Subscription
from sportello.contracts import (
    ConversationAssigned,
    ConversationEscalated,
    ConversationNoteAdded,
    ConversationPrioritised,
    ConversationQueued,
    ConversationStatusChanged,
    ConversationTagsChanged,
    CustomerMerged,
    CustomerUnmerged,
    CustomerUpdated,
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
    CONVERSATIONS_ANNOTATIONS,
    CONVERSATIONS_ASSIGNMENT,
    CUSTOMERS,
    MESSAGES_RECEIVED,
    MESSAGES_SCORED,
    Groups,
)
from sportello_crm_sync import mirror
from sportello_crm_sync.settings import CrmSyncSettings
from sportello_crm_sync.webhooks import fanout
from sportello_crm_sync.webhooks.interest import SubscribedTypes

MirrorRule = Callable[[Tx, Any, Envelope, str | None], Awaitable[None]]
_MIRROR: dict[type[Event], MirrorRule] = {
    MessageReceived: mirror.on_message,
    ConversationAssigned: mirror.on_assigned,
    ConversationStatusChanged: mirror.on_status,
    CustomerUpdated: mirror.on_customer,
    CustomerMerged: mirror.on_merged,
    CustomerUnmerged: mirror.on_unmerged,
}
_WITHOUT_CRM = (MessageReceived, CustomerUpdated, CustomerMerged, CustomerUnmerged)
_WEBHOOK_EVENTS: tuple[type[Event], ...] = (
    MessageReceived, MessageDeliveryUpdated, ConversationAssigned, ConversationQueued,
    ConversationEscalated, ConversationStatusChanged, CustomerUpdated, CustomerMerged,
    CustomerUnmerged, ConversationNoteAdded, ConversationTagsChanged,
)


def mirror_routes(ctx: Context) -> Mapping[type[Event], EventHandler]:
    settings = ctx.settings
    assert isinstance(settings, CrmSyncSettings), "COMPONENT declares settings_cls=CrmSyncSettings"
    crm = settings.crm_name

    def bound(rule: MirrorRule) -> EventHandler:
        async def handle(tx: Tx, event: Any, envelope: Envelope) -> None:
            await rule(tx, event, envelope, crm)
        return handle

    return {event: bound(rule) for event, rule in _MIRROR.items()}


async def _fan_out(tx: Tx, event: Event, envelope: Envelope) -> None:
    await fanout.fan_out(tx, envelope)


async def _prioritised(tx: Tx, event: ConversationPrioritised, envelope: Envelope) -> None:
    await fanout.on_prioritised(tx, event, envelope)


WEBHOOK_ROUTES: Mapping[type[Event], EventHandler] = {
    **{event: _fan_out for event in _WEBHOOK_EVENTS},
    ConversationPrioritised: _prioritised,
}


def subscribed_types(ctx: Context) -> SubscribedTypes:
    """The process's cache of subscribed webhook types (endpoints invalidate it on changes)."""
    cache: SubscribedTypes | None = ctx.state.get("subscribed_types")
    if cache is None:
        cache = ctx.state["subscribed_types"] = SubscribedTypes(ctx.db)
    return cache


def subscriptions(ctx: Context) -> list[Subscription]:
    followed = (MESSAGES_RECEIVED, CONVERSATIONS_ASSIGNMENT, CONVERSATIONS_ACTIVITY, CUSTOMERS)
    settings = ctx.settings
    assert isinstance(settings, CrmSyncSettings), "COMPONENT declares settings_cls=CrmSyncSettings"

    async def mirror_wants(envelope: Envelope) -> bool:
        # Without a CRM only the "not_configured" answer and the customers' picture are kept.
        return settings.crm_name is not None or isinstance(envelope.data, _WITHOUT_CRM)

    return [
        subscription(ctx, Groups.CRM_SYNC, followed, mirror_routes(ctx), wants=mirror_wants),
        # Notes and tags only become webhooks (the CRM mirror keeps the customer's history).
        subscription(ctx, Groups.CRM_SYNC_WEBHOOKS,
                     (*followed, MESSAGES_SCORED, CONVERSATIONS_ANNOTATIONS), WEBHOOK_ROUTES,
                     wants=subscribed_types(ctx).wants),
    ]
