"""Conversation lifecycle owned by ingest: resolve and reopen (the threading rules depend on it)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sportello.contracts import ConversationStatusChanged
from sportello.db import Tx
from sportello.http.problems import Conflict, NotFound
from sportello_ingest.repository import IngestRepository


async def change_status(tx: Tx, conversation_id: uuid.UUID, status: Literal["open", "resolved"],
                        now: datetime) -> bool:
    """Resolve or reopen; False when it already had that status (the request is idempotent)."""
    repo = IngestRepository(tx.session)
    conversation = await repo.conversation(conversation_id, lock=True)
    if conversation is None:
        raise NotFound(f"No conversation {conversation_id}.")
    if status == "open" and conversation.status != "open":
        other = await repo.open_conversation(conversation.customer_id, conversation.account)
        if other is not None:
            raise Conflict("The customer already has an open conversation on this account.",
                           open_conversation_id=str(other.id))
    sequence = await repo.set_status(conversation_id, status, now)
    if sequence is None:
        return False
    await tx.outbox.add(ConversationStatusChanged(
        conversation_id=conversation_id, customer_id=conversation.customer_id, status=status,
        reason="resolved" if status == "resolved" else "reopened_by_agent", sequence=sequence, at=now),
        subject=str(conversation_id))
    return True
