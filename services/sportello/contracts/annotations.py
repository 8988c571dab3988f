"""What agents add to a conversation in the gateway: internal notes and tags. Published so webhooks
(and any other consumer) can mirror them; subject and partition key = the conversation id."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from sportello.contracts.envelope import Event


class ConversationNoteAdded(Event):
    """An internal note was written on a conversation; the customer never sees it."""

    event_type = "conversation.note_added"
    event_version = 1

    note_id: uuid.UUID
    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    author: str = Field(description="The agent's id or subject, or 'api-key:…<hint>' for a key")
    text: str
    at: datetime


class ConversationTagsChanged(Event):
    """A conversation's tags changed; ``tags`` is the whole set afterwards (sorted)."""

    event_type = "conversation.tags_changed"
    event_version = 1

    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    tags: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    actor: str
    at: datetime
