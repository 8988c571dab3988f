"""Assignment's bus edge: each scored message is routed in its own transaction."""

from __future__ import annotations

from sportello.contracts import Envelope, Event, MessageScored
from sportello.db import Tx
from sportello.handling import EventHandler
from sportello_assignment import service


async def on_message_scored(tx: Tx, event: MessageScored, envelope: Envelope) -> None:
    await service.route_scored_message(tx, event)


ROUTES: dict[type[Event], EventHandler] = {MessageScored: on_message_scored}
