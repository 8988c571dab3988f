"""Conversation lifecycle owned by ingest: resolve, reopen, snooze and wake (the threading rules
depend on it). Every change is published as ``conversation.status_changed`` with the next sequence."""

from __future__ import annotations

import uuid
from datetime import datetime

from sportello.contracts import ConversationStatus, ConversationStatusChanged, StatusReason
from sportello.db import Tx
from sportello.http.problems import Conflict, NotFound
from sportello_ingest.repository import ConversationRow, IngestRepository


async def change_status(tx: Tx, conversation_id: uuid.UUID, status: ConversationStatus,
                        now: datetime, *, snoozed_until: datetime | None = None) -> bool:
    """Resolve, reopen or snooze; False when nothing changed (the request is idempotent: the same
    snooze twice is one change, a snooze with another end is a new one)."""
    repo = IngestRepository(tx.session)
    conversation = await repo.conversation(conversation_id, lock=True)
    if conversation is None:
        raise NotFound(f"No conversation {conversation_id}.")
    if status == "snoozed" and conversation.status == "resolved":
        raise Conflict("A resolved conversation cannot be snoozed; reopen it first.")
    if status == "open" and conversation.status == "resolved":
        other = await repo.open_conversation(conversation.customer_id, conversation.account)
        if other is not None:
            raise Conflict("The customer already has an open conversation on this account.",
                           open_conversation_id=str(other.id))
    return await publish_change(tx, repo, conversation, status, _reason(conversation, status), now,
                                 snoozed_until)


async def wake_due(tx: Tx, now: datetime, limit: int) -> int:
    """Open the snoozed conversations whose time has come; returns how many. Safe to run in every
    replica at once: the rows are locked with SKIP LOCKED, so each is woken by one of them."""
    repo = IngestRepository(tx.session)
    due = await repo.snoozes_due(now, limit)
    for conversation in due:
        await publish_change(tx, repo, conversation, "open", "snooze_ended", now, None)
    return len(due)


def _reason(conversation: ConversationRow, status: ConversationStatus) -> StatusReason:
    if status == "open":
        return "unsnoozed_by_agent" if conversation.status == "snoozed" else "reopened_by_agent"
    return "snoozed" if status == "snoozed" else "resolved"


async def publish_change(tx: Tx, repo: IngestRepository, conversation: ConversationRow,
                          status: ConversationStatus, reason: StatusReason, now: datetime,
                          snoozed_until: datetime | None) -> bool:
    sequence = await repo.set_status(conversation.id, status, now, snoozed_until=snoozed_until)
    if sequence is None:
        return False
    await tx.outbox.add(ConversationStatusChanged(
        conversation_id=conversation.id, customer_id=conversation.customer_id, status=status,
        reason=reason, sequence=sequence, at=now,
        snoozed_until=snoozed_until if status == "snoozed" else None),
        subject=str(conversation.id))
    return True
