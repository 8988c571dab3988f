"""Ingest's rules for what platforms tell us: messages (dedup, identity, threading, events) and receipts.

Every channel ends here with the same normalised shapes, so a rule holds for all of them at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sportello.contracts import (
    Author,
    MessageDeliveryUpdated,
    MessageReceived,
    StatusReason,
)
from sportello.db import Tx
from sportello_ingest import conversations, identity_graph, threads
from sportello_ingest.channels.base import Author as PlatformAuthor
from sportello_ingest.channels.base import InboundMessage, StatusUpdate
from sportello_ingest.repository import CustomerRow, IngestRepository, StoredMessage

Outcome = Literal["accepted", "duplicate", "blocked", "ignored"]

# A receipt only moves a message forward; "failed" can follow "sent" (WhatsApp reports it later).
_EARLIER = {
    "sent": ("pending",),
    "delivered": ("pending", "sent"),
    "read": ("pending", "sent", "delivered"),
    "failed": ("pending", "sent"),
}


@dataclass(frozen=True)
class Accepted:
    outcome: Outcome
    message_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None


class DuplicateInFlight(Exception):
    """The same message is being accepted concurrently; the edge retries and finds it stored."""


async def accept_message(tx: Tx, rules: threads.ThreadingRules, message: InboundMessage,
                         now: datetime) -> Accepted:
    repo = IngestRepository(tx.session)
    existing = await repo.find_message(message.channel, message.external_id)
    if existing is not None:
        return Accepted("duplicate", existing.id, existing.conversation_id, existing.customer_id)
    if message.direction == "outbound":
        return await _accept_brand_message(tx, repo, message, now)

    customer = await _customer(tx, repo, message, now)
    if customer.blocked:
        return Accepted("blocked", customer_id=customer.id)
    thread = await threads.choose(repo, rules, message, customer.id, now)
    if thread.choice in _WAKING:
        await _reopen(tx, repo, thread, now)
    message_id = await _store(tx, repo, message, thread.conversation_id, customer.id, now,
                              opened=thread.choice == "opened", linked=thread.linked_message_id)
    return Accepted("accepted", message_id, thread.conversation_id, customer.id)


async def apply_status(tx: Tx, update: StatusUpdate) -> int:
    """Apply a delivery receipt; returns how many messages moved forward."""
    repo = IngestRepository(tx.session)
    earlier = _EARLIER[update.status]
    if update.external_id is not None:
        found = await repo.find_message(update.channel, update.external_id)
        targets = [found] if found is not None else []
    elif update.account and update.recipient_id and update.until:
        targets = await repo.outbound_to_recipient_until(update.account, update.channel,
                                                         update.recipient_id, update.until, earlier)
    else:
        targets = []
    moved = 0
    for target in targets:
        moved += await advance_delivery(tx, target, update.channel, update.external_id, update.status,
                                        only_from=earlier, error=update.error, at=update.at)
    return moved


async def advance_delivery(tx: Tx, message: StoredMessage, channel: str, external_id: str | None,
                           status: str, *, only_from: tuple[str, ...], at: datetime,
                           error: str | None = None) -> bool:
    """Move a message's delivery status on (only from ``only_from``: never back) and tell the others.

    Every path that changes a delivery status comes here: receipts, the sender, echoes, the chat widget.
    """
    if not await IngestRepository(tx.session).set_delivery(message.id, status, error=error, only_from=only_from):
        return False
    await tx.outbox.add(
        MessageDeliveryUpdated(message_id=message.id, conversation_id=message.conversation_id,
                               channel=channel, external_id=external_id, status=status,  # type: ignore[arg-type]
                               error=error, at=at),
        subject=str(message.conversation_id))
    return True


async def _customer(tx: Tx, repo: IngestRepository, message: InboundMessage, now: datetime) -> CustomerRow:
    """The author's customer (after a merge, the survivor: the identity moved there), created on first sight.

    An identity another customer only claimed (linked unverified) routes nothing: the author proves it is
    theirs, so it becomes a new customer's, verified, and the claimant gets a merge suggestion.
    """
    author = message.author
    found = await repo.customer_of(message.channel, author.id)
    if found is not None and found.identity_verified:
        # A platform that names nobody (Messenger, Instagram DMs) gives the id as the name: keep the name
        # we learnt elsewhere (their comment) rather than overwrite it with a number. Written only when
        # something changed: most messages come from a known profile, and this is the intake's hot path.
        if author.display_name != author.id and _profile_changed(found, author):
            await repo.update_profile(found.id, author.display_name, author.followers, author.verified)
            if found.display_name != author.display_name:
                await identity_graph.publish_updated(tx, repo, found.id, "profile", now)
        return found
    created = await repo.create_customer(author.display_name, author.followers, author.verified)
    if found is not None:
        if not await repo.take_identity(message.channel, author.id, found.id, created, author.handle, "message"):
            raise threads.ConcurrentThreading()
        # The claimant survives if a person accepts: it has the longer history.
        await identity_graph.claim_proven(tx, repo, found.id, created, message.channel, author.id,
                                          identity_graph.INGEST, now, claimant_survives=True)
    else:
        owner = await repo.add_identity(message.channel, author.id, created, author.handle, "message")
        if owner != created:
            raise threads.ConcurrentThreading()
    await identity_graph.customer_created(tx, repo, created, message.channel, author.id, author.handle, now)
    return CustomerRow(created, False, author.display_name, author.followers, author.verified)


def _profile_changed(stored: CustomerRow, author: PlatformAuthor) -> bool:
    # update_profile keeps the stored follower count when the platform sends none.
    return (stored.display_name != author.display_name or stored.verified != author.verified
            or (author.followers is not None and stored.followers != author.followers))


# The customer's message opens the conversation it joins again, and says why.
_WAKING: dict[threads.Choice, StatusReason] = {
    "reopened": "reopened_by_customer", "continued": "continued_in_private",
    "unsnoozed": "unsnoozed_by_customer"}


async def _reopen(tx: Tx, repo: IngestRepository, thread: threads.Thread, now: datetime) -> None:
    # The event names the conversation's own customer: a reply from someone else that joins a
    # public thread reopens that customer's conversation, not one of the author's.
    conversation = await repo.conversation(thread.conversation_id)
    assert conversation is not None  # threading just chose it
    await conversations.publish_change(tx, repo, conversation, "open", _WAKING[thread.choice], now, None)


async def _accept_brand_message(tx: Tx, repo: IngestRepository, message: InboundMessage,
                                now: datetime) -> Accepted:
    """A brand message seen on the platform: the echo of our own reply, or one made natively."""
    echo = await repo.pending_echo(message.account, message.text)
    if echo is not None:
        await repo.set_external_id(echo.id, message.external_id)
        if await advance_delivery(tx, echo, message.channel, message.external_id, "sent",
                                  only_from=("pending",), at=now):
            await repo.unqueue(echo.id)
        return Accepted("duplicate", echo.id, echo.conversation_id, echo.customer_id)

    conversation = None
    for parent_id in message.reply_to:
        conversation = await repo.conversation_of_message(message.channel, parent_id)
        if conversation is not None:
            break
    if conversation is None and message.recipient_id:
        customer = await repo.customer_of(message.channel, message.recipient_id)
        if customer is not None:
            conversation = await repo.open_conversation(customer.id, message.account)
    if conversation is None:
        return Accepted("ignored")  # e.g. a brand broadcast that answers no customer
    message_id = await _store(tx, repo, message, conversation.id, conversation.customer_id, now,
                              opened=False, linked=None)
    return Accepted("accepted", message_id, conversation.id, conversation.customer_id)


async def _store(tx: Tx, repo: IngestRepository, message: InboundMessage, conversation_id: uuid.UUID,
                 customer_id: uuid.UUID, now: datetime, *, opened: bool,
                 linked: uuid.UUID | None) -> uuid.UUID:
    message_id = uuid.uuid4()
    reply_to = message.reply_to[0] if message.reply_to else None
    stored = await repo.insert_message(dict(
        id=message_id, conversation_id=conversation_id, customer_id=customer_id, channel=message.channel,
        account=message.account, external_id=message.external_id, direction=message.direction,
        visibility=message.visibility, author_id=message.author.id, text=message.text,
        sent_at=message.sent_at, received_at=now, reply_to=reply_to, linked_message_id=linked,
        flags=list(message.flags), subject=message.subject,
        delivery_status="received" if message.direction == "inbound" else "sent",
    ))
    if not stored:
        # Lost a race with the same message arriving twice at once: the winner emits the event.
        raise DuplicateInFlight(f"{message.channel}/{message.external_id}")
    await repo.touch_conversation(conversation_id, message.sent_at)
    author = message.author
    await tx.outbox.add(
        MessageReceived(
            message_id=message_id, conversation_id=conversation_id, customer_id=customer_id,
            conversation_opened=opened, channel=message.channel, external_id=message.external_id,
            direction=message.direction,
            author=Author(id=author.id, display_name=author.display_name, followers=author.followers,
                          handle=author.handle, verified=author.verified),
            text=message.text, sent_at=message.sent_at, received_at=now, reply_to=reply_to,
            account=message.account, visibility=message.visibility, flags=message.flags,
            linked_message_id=linked, subject=message.subject,
        ),
        subject=str(conversation_id),
    )
    return message_id
