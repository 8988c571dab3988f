"""Which webhooks a conversation's status change becomes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sportello.contracts import ConversationNoteAdded, ConversationStatusChanged, ConversationTagsChanged
from sportello_crm_sync.webhooks.catalogue import EVENT_TYPES, webhooks_of

AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def change(status: str, reason: str, **fields: object) -> ConversationStatusChanged:
    return ConversationStatusChanged(conversation_id=uuid.uuid4(), customer_id=uuid.uuid4(),
                                     status=status, reason=reason, sequence=3, at=AT,  # type: ignore[arg-type]
                                     **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("status, reason, expected", [
    ("resolved", "resolved", ["conversation.status_changed", "conversation.resolved"]),
    ("snoozed", "snoozed", ["conversation.status_changed", "conversation.snoozed"]),
    ("open", "snooze_ended", ["conversation.status_changed"]),
    ("open", "reopened_by_customer", ["conversation.status_changed"]),
])
def test_a_status_change_becomes_its_webhooks(status: str, reason: str, expected: list[str]) -> None:
    event = change(status, reason)
    hooks = webhooks_of(event, AT)
    assert [hook.type for hook in hooks] == expected
    assert all(hook.type in EVENT_TYPES for hook in hooks)
    assert all(hook.subject == event.conversation_id for hook in hooks)


def test_a_snooze_webhook_says_when_it_wakes() -> None:
    until = AT + timedelta(days=1)
    [_, snoozed] = webhooks_of(change("snoozed", "snoozed", snoozed_until=until), AT)
    assert snoozed.body["type"] == "conversation.snoozed"
    assert datetime.fromisoformat(snoozed.body["data"]["snoozed_until"]) == until


def test_notes_and_tag_changes_are_webhooks_of_their_conversation() -> None:
    conversation, customer = uuid.uuid4(), uuid.uuid4()
    note = ConversationNoteAdded(note_id=uuid.uuid4(), conversation_id=conversation,
                                 customer_id=customer, author="a", text="call back", at=AT)
    tags = ConversationTagsChanged(conversation_id=conversation, customer_id=customer, tags=("vip",),
                                   added=("vip",), removed=(), actor="a", at=AT)
    assert [(h.type, h.subject) for h in webhooks_of(note, AT)] == [("conversation.note_added",
                                                                    conversation)]
    assert [(h.type, h.subject) for h in webhooks_of(tags, AT)] == [("conversation.tags_changed",
                                                                    conversation)]
