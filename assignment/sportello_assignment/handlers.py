"""Assignment's bus edge: each scored message is routed, and each priority change moves its
conversation in the queue, in its own transaction."""

from __future__ import annotations

from sportello.contracts import ConversationPrioritised, Envelope, Event, MessageScored
from sportello.db import Tx
from sportello.handling import EventHandler
from sportello_assignment import service


async def on_message_scored(tx: Tx, event: MessageScored, envelope: Envelope) -> None:
    await service.route_scored_message(tx, event)


async def on_conversation_prioritised(tx: Tx, event: ConversationPrioritised,
                                     envelope: Envelope) -> None:
    await service.reprioritise(tx, event)


ROUTES: dict[type[Event], EventHandler] = {
    MessageScored: on_message_scored,
    ConversationPrioritised: on_conversation_prioritised,
}
