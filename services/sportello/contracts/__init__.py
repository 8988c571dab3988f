"""Typed, versioned event contracts shared by every service."""

from sportello.contracts.envelope import Envelope, Event, event_model, registered_events
from sportello.contracts.events import (
    AgentRef,
    Author,
    ConversationAssigned,
    ConversationQueued,
    ConversationStatusChanged,
    CrmSynced,
    MessageDeliveryUpdated,
    MessageReceived,
    MessageScored,
    PriorityFactor,
    ReplyRequested,
    Sentiment,
)

__all__ = [
    "AgentRef",
    "Author",
    "ConversationAssigned",
    "ConversationQueued",
    "ConversationStatusChanged",
    "CrmSynced",
    "Envelope",
    "Event",
    "MessageDeliveryUpdated",
    "MessageReceived",
    "MessageScored",
    "PriorityFactor",
    "ReplyRequested",
    "Sentiment",
    "event_model",
    "registered_events",
]
