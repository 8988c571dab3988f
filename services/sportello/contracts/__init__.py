"""Typed, versioned event contracts shared by every service."""

from sportello.contracts.envelope import Envelope, Event, event_model, registered_events
from sportello.contracts.events import (
    AgentRef,
    Author,
    ConversationAssigned,
    ConversationQueued,
    CrmSynced,
    MessageReceived,
    MessageScored,
    PriorityFactor,
    Sentiment,
)

__all__ = [
    "AgentRef",
    "Author",
    "ConversationAssigned",
    "ConversationQueued",
    "CrmSynced",
    "Envelope",
    "Event",
    "MessageReceived",
    "MessageScored",
    "PriorityFactor",
    "Sentiment",
    "event_model",
    "registered_events",
]
