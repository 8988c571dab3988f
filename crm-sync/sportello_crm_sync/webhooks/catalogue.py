"""The outbound webhook event catalogue: every type a subscription may ask for, and which bus
events become which webhooks.

A webhook body is ``{"type": ..., "timestamp": ..., "data": {...}}`` (the Standard Webhooks
payload shape); ``data`` is the bus event's own JSON, so its fields are documented by the event
contracts in ``sportello.contracts``. Webhooks of one conversation (or, for customer events, one
customer) are delivered to a subscription in the order they happened.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sportello.contracts import (
    ConversationAssigned,
    ConversationEscalated,
    ConversationNoteAdded,
    ConversationQueued,
    ConversationStatusChanged,
    ConversationTagsChanged,
    CustomerMerged,
    CustomerUnmerged,
    CustomerUpdated,
    Event,
    MessageDeliveryUpdated,
    MessageReceived,
)

EVENT_TYPES: dict[str, str] = {
    "conversation.created": "A customer's first message opened a conversation (data: message.received)",
    "conversation.assigned": "A conversation got an owner (data: conversation.assigned)",
    "conversation.queued": "A conversation waits in a queue for an owner (data: conversation.queued)",
    "conversation.escalated": "A conversation's SLA stage needs a supervisor (data: conversation.escalated)",
    "conversation.status_changed": "Resolved, snoozed, reopened or woken "
                                   "(data: conversation.status_changed)",
    "conversation.resolved": "Resolved (data: conversation.status_changed)",
    "conversation.snoozed": "Parked by an agent until a time or the customer's next message "
                            "(data: conversation.status_changed, with snoozed_until)",
    "conversation.note_added": "An agent wrote an internal note (never shown to the customer; "
                               "data: conversation.note_added)",
    "conversation.tags_changed": "A conversation's tags changed (data: conversation.tags_changed, "
                                 "the whole set and what was added and removed)",
    "message.created": "A message in or out of a conversation (data: message.received)",
    "message.delivery_status": "An outbound message was sent, delivered, read or failed "
                               "(data: message.delivery_updated)",
    "customer.created": "A customer was seen for the first time (data: customer.updated)",
    "customer.updated": "A customer's profile or identities changed (data: customer.updated)",
    "customer.merged": "Two customers became one (data: customer.merged)",
    "customer.unmerged": "A merge was undone (data: customer.unmerged)",
    "sla.warning": "A conversation's SLA clock entered at_risk or critical "
                   "(data: conversation_id, customer_id, stage, deadline, sla)",
    "sla.breach": "A conversation's SLA deadline passed (data: as sla.warning)",
    "survey.answered": "A customer answered a satisfaction survey (no producer yet: Sportello "
                       "sends no surveys; the type is reserved so subscribers can register now)",
}

SLA_WARNING_STAGES = frozenset({"at_risk", "critical"})


@dataclass(frozen=True)
class Webhook:
    """One webhook to fan out: its type, the entity whose order it keeps, and its body."""

    type: str
    subject: uuid.UUID
    body: dict[str, Any]


def body(event_type: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": event_type, "timestamp": at.isoformat(), "data": data}


def webhooks_of(event: Event, at: datetime) -> list[Webhook]:
    """The webhooks a bus event becomes (SLA webhooks need state: see ``sla.py``)."""
    data = event.model_dump(mode="json")
    kinds: list[tuple[str, uuid.UUID]] = []
    match event:
        case MessageReceived():
            if event.conversation_opened:
                kinds.append(("conversation.created", event.conversation_id))
            kinds.append(("message.created", event.conversation_id))
        case MessageDeliveryUpdated():
            kinds.append(("message.delivery_status", event.conversation_id))
        case ConversationAssigned():
            kinds.append(("conversation.assigned", event.conversation_id))
        case ConversationQueued():
            kinds.append(("conversation.queued", event.conversation_id))
        case ConversationEscalated():
            kinds.append(("conversation.escalated", event.conversation_id))
        case ConversationStatusChanged():
            kinds.append(("conversation.status_changed", event.conversation_id))
            if event.status in ("resolved", "snoozed"):
                kinds.append((f"conversation.{event.status}", event.conversation_id))
        case ConversationNoteAdded():
            kinds.append(("conversation.note_added", event.conversation_id))
        case ConversationTagsChanged():
            kinds.append(("conversation.tags_changed", event.conversation_id))
        case CustomerUpdated():
            kinds.append(("customer.created" if event.change == "created" else "customer.updated",
                          event.customer_id))
        case CustomerMerged():
            kinds.append(("customer.merged", event.customer_id))
        case CustomerUnmerged():
            kinds.append(("customer.unmerged", event.customer_id))
    return [Webhook(kind, subject, body(kind, at, data)) for kind, subject in kinds]
