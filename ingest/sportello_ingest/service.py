"""Ingest's rules: dedup, identity, threading, archive, event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sportello.contracts import Author, MessageReceived
from sportello.db import Tx
from sportello.http.problems import InvalidRequest
from sportello_ingest.repository import IngestRepository
from sportello_ingest.schemas import ApiMessageIn, MessageAccepted


async def accept_message(tx: Tx, message: ApiMessageIn, raw: Any) -> MessageAccepted:
    repo = IngestRepository(tx.session)
    existing = await repo.find_message(message.channel, message.external_id)
    if existing is not None:
        return MessageAccepted(message_id=existing.id, conversation_id=existing.conversation_id,
                               customer_id=existing.customer_id, duplicate=True)

    received_at = datetime.now(UTC)
    if message.direction == "outbound":
        # The brand's reply belongs to the customer's conversation it answers; its author is the
        # brand account, which must never become a "customer".
        answered = (await repo.open_conversation_of_message(message.channel, message.reply_to)
                    if message.reply_to else None)
        if answered is None:
            raise InvalidRequest(
                "An outbound message must have reply_to naming a message of an open conversation "
                "on the same channel.")
        (conversation_id, customer_id), opened = answered, False
    else:
        customer_id = await repo.upsert_customer(message.channel, message.author.id,
                                                 message.author.display_name,
                                                 message.author.followers)
        conversation_id, opened = await _thread(repo, message, customer_id, received_at)
    message_id = uuid.uuid4()
    stored = await repo.insert_message(
        dict(id=message_id, conversation_id=conversation_id, customer_id=customer_id,
             channel=message.channel, external_id=message.external_id,
             direction=message.direction, author_id=message.author.id, text=message.text,
             sent_at=message.sent_at, received_at=received_at, reply_to=message.reply_to)
    )
    if not stored:
        # Lost a race with the same message arriving twice at once: the winner emits the event.
        # Raising rolls back what this attempt wrote (e.g. a conversation it opened).
        raise DuplicateInFlight(message.channel, message.external_id)
    await repo.touch_conversation(conversation_id, message.sent_at)
    await repo.archive_raw(message_id, message.channel, raw, received_at)
    await tx.outbox.add(
        MessageReceived(
            message_id=message_id, conversation_id=conversation_id, customer_id=customer_id,
            conversation_opened=opened, channel=message.channel, external_id=message.external_id,
            direction=message.direction,
            author=Author(id=message.author.id, display_name=message.author.display_name,
                          followers=message.author.followers),
            text=message.text, sent_at=message.sent_at, received_at=received_at,
            reply_to=message.reply_to,
        ),
        subject=str(conversation_id),
    )
    return MessageAccepted(message_id=message_id, conversation_id=conversation_id,
                           customer_id=customer_id, duplicate=False)


async def _thread(repo: IngestRepository, message: ApiMessageIn, customer_id: uuid.UUID,
                  at: datetime) -> tuple[uuid.UUID, bool]:
    """A reply joins the conversation of the message it answers while that one is open;
    anything else joins the customer's open conversation, or opens one."""
    if message.reply_to is not None:
        replied = await repo.open_conversation_of_message(message.channel, message.reply_to)
        # Only the customer's own thread: replying to someone else's post starts their own case.
        if replied is not None and replied[1] == customer_id:
            return replied[0], False
    return await repo.open_conversation(customer_id, at)


class DuplicateInFlight(Exception):
    def __init__(self, channel: str, external_id: str) -> None:
        super().__init__(f"{channel}/{external_id} was accepted concurrently")
        self.channel = channel
        self.external_id = external_id
