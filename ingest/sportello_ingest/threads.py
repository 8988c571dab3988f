"""Which conversation a new customer message belongs to.

In order:
1. **A reply follows its parent**: the conversation of the first message it answers, whoever wrote it.
   A public thread is one case: a second customer joining a thread under someone else's complaint, or
   answering the brand's reply to them, is part of that case (the message keeps its own author).
2. **One open conversation per customer per brand account**: anything else joins it.
3. **A private message continues a recent public one**: within the continuation window of the customer's
   last public message on the account, that conversation is continued (reopened if resolved) and the two
   messages are linked.
4. **Recently resolved reopens**: within the reopen window, the customer's last resolved conversation on the
   account is reopened; older ones stay closed and a new conversation starts.

A snoozed conversation is unresolved, like an open one: a message that joins it wakes it ("unsnoozed").

A parent's conversation that was resolved long ago is not reopened either: rule 2 or a new one applies.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sportello_ingest.channels.base import InboundMessage
from sportello_ingest.repository import ConversationRow, IngestRepository


@dataclass(frozen=True)
class ThreadingRules:
    reopen_window: timedelta
    dm_continuation_window: timedelta


Choice = Literal["joined", "opened", "reopened", "continued", "unsnoozed"]


@dataclass(frozen=True)
class Thread:
    conversation_id: uuid.UUID
    choice: Choice
    linked_message_id: uuid.UUID | None = None


class ConcurrentThreading(Exception):
    """Another delivery changed this customer's conversations meanwhile; the edge retries."""


async def choose(repo: IngestRepository, rules: ThreadingRules, message: InboundMessage,
                 customer_id: uuid.UUID, now: datetime) -> Thread:
    linked, public = None, None
    if message.visibility == "private":
        public = await repo.last_public_inbound(customer_id, message.account,
                                                since=message.sent_at - rules.dm_continuation_window)
        linked = public.id if public else None

    for parent_id in message.reply_to:
        parent = await repo.conversation_of_message(message.channel, parent_id)
        if parent is not None:
            if parent.status != "resolved" or _recent(parent, rules.reopen_window, now):
                return await _use(repo, parent, "joined", linked)
            break

    current = await repo.open_conversation(customer_id, message.account)
    if current is not None:
        return _join(current, linked)

    if public is not None:
        continued = await repo.conversation(public.conversation_id)
        if continued is not None:
            return await _use(repo, continued, "continued", linked)

    resolved = await repo.latest_resolved(customer_id, message.account)
    if resolved is not None and _recent(resolved, rules.reopen_window, now):
        return await _use(repo, resolved, "reopened", linked)

    created = await repo.create_conversation(customer_id, message.account, message.channel, now)
    if created is None:
        raise ConcurrentThreading()
    return Thread(created, "opened", linked)


def _recent(conversation: ConversationRow, window: timedelta, now: datetime) -> bool:
    return (conversation.status == "resolved" and conversation.resolved_at is not None
            and window > timedelta(0) and now - conversation.resolved_at <= window)


async def _use(repo: IngestRepository, conversation: ConversationRow, choice: Choice,
               linked: uuid.UUID | None) -> Thread:
    if conversation.status != "resolved":
        return _join(conversation, linked)
    current = await repo.open_conversation(conversation.customer_id, conversation.account)
    if current is not None:
        # Its owner already has another open conversation on this account: join that one.
        return _join(current, linked)
    return Thread(conversation.id, "reopened" if choice == "joined" else choice, linked)


def _join(conversation: ConversationRow, linked: uuid.UUID | None) -> Thread:
    return Thread(conversation.id, "unsnoozed" if conversation.status == "snoozed" else "joined", linked)
