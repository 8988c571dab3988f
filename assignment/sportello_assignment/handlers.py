"""Assignment's bus edge, one transaction per event: scored messages are routed and priority
changes move conversations in the queue (router group); replies and status changes (activity
group, so they never wait behind routing) stop timers and free agents' slots."""

from __future__ import annotations

from sportello.bus.base import Subscription
from sportello.contracts import (
    ConversationPrioritised,
    ConversationStatusChanged,
    Envelope,
    Event,
    MessageScored,
    ReplyRequested,
)
from sportello.db import Tx
from sportello.handling import EventHandler, subscription
from sportello.runtime import Context
from sportello.topics import CONVERSATIONS_ACTIVITY, MESSAGES_SCORED, Groups
from sportello_assignment import service
from sportello_assignment.settings import AssignmentSettings


def subscriptions(ctx: Context) -> list[Subscription]:
    assert isinstance(ctx.settings, AssignmentSettings)
    rules = ctx.settings.rules()

    async def on_message_scored(tx: Tx, event: MessageScored, envelope: Envelope) -> None:
        await service.route_scored_message(tx, event, rules)

    async def on_prioritised(tx: Tx, event: ConversationPrioritised, envelope: Envelope) -> None:
        await service.reprioritise(tx, event, rules)

    async def on_reply(tx: Tx, event: ReplyRequested, envelope: Envelope) -> None:
        await service.on_reply_requested(tx, event, rules)

    async def on_status(tx: Tx, event: ConversationStatusChanged, envelope: Envelope) -> None:
        await service.record_status(tx, event, rules)

    routing: dict[type[Event], EventHandler] = {
        MessageScored: on_message_scored,
        ConversationPrioritised: on_prioritised,
    }
    activity: dict[type[Event], EventHandler] = {
        ReplyRequested: on_reply,
        ConversationStatusChanged: on_status,
    }
    return [
        subscription(ctx, Groups.ASSIGNMENT_ROUTER, (MESSAGES_SCORED,), routing),
        subscription(ctx, Groups.ASSIGNMENT_ACTIVITY, (CONVERSATIONS_ACTIVITY,), activity),
    ]
