"""Priority's bus edge."""

from __future__ import annotations

from sportello.bus.base import Subscription
from sportello.contracts import Envelope, MessageReceived
from sportello.db import Tx
from sportello.handling import subscription
from sportello.runtime import Context
from sportello.topics import MESSAGES_RECEIVED, Groups
from sportello_priority import service


async def on_message_received(tx: Tx, event: MessageReceived, envelope: Envelope) -> None:
    await service.score_message(tx, event)


ROUTES = {MessageReceived: on_message_received}


def subscriptions(ctx: Context) -> list[Subscription]:
    return [subscription(ctx, Groups.PRIORITY_SCORER, (MESSAGES_RECEIVED,), ROUTES)]
