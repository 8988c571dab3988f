"""Every Kafka topic and consumer group, named once.

Handlers bind to these objects, never to strings. Each topic declares the events it may carry; a record
of any other type is a poison record and goes to the topic's dead-letter topic.
"""

from __future__ import annotations

from dataclasses import dataclass

from sportello.contracts import (
    AgentPresenceChanged,
    ConversationAssigned,
    ConversationEscalated,
    ConversationNoteAdded,
    ConversationPrioritised,
    ConversationQueued,
    ConversationStatusChanged,
    ConversationTagsChanged,
    CrmContactUpdated,
    CrmSynced,
    CustomerMerged,
    CustomerUnmerged,
    CustomerUpdated,
    Event,
    MessageDeliveryUpdated,
    MessageReceived,
    MessageScored,
    ReplyRequested,
)


@dataclass(frozen=True)
class Topic:
    name: str
    events: tuple[type[Event], ...]

    @property
    def dead_letter(self) -> str:
        return f"{self.name}.dlt"

    def carries(self, event: type[Event]) -> bool:
        return event in self.events


MESSAGES_RECEIVED = Topic("sportello.messages.received.v1", (MessageReceived,))
# Priority's output, keyed by conversation: one topic so a conversation's scores and priority
# changes keep their order.
MESSAGES_SCORED = Topic("sportello.messages.scored.v1", (MessageScored, ConversationPrioritised))
CONVERSATIONS_ASSIGNMENT = Topic(
    "sportello.conversations.assignment.v1",
    (ConversationAssigned, ConversationQueued, ConversationEscalated),
)
CRM_SYNCED = Topic("sportello.crm.synced.v1", (CrmSynced,))
# What the CRM says about customers (tier, VIP, do-not-contact), keyed by customer.
CRM_CONTACTS = Topic("sportello.crm.contacts.v1", (CrmContactUpdated,))
# The identity graph (ingest): customers created, changed, merged and unmerged, keyed by the
# (surviving) customer id so one customer's changes keep their order.
CUSTOMERS = Topic("sportello.customers.v1", (CustomerUpdated, CustomerMerged, CustomerUnmerged))
# Everything else that happens to a conversation in ingest, keyed by conversation id.
CONVERSATIONS_ACTIVITY = Topic(
    "sportello.conversations.activity.v1",
    (ReplyRequested, MessageDeliveryUpdated, ConversationStatusChanged),
)
# What agents add to a conversation in the gateway (internal notes, tags), keyed by conversation
# id. A topic of its own: none of the services reading the activity topic needs these.
CONVERSATIONS_ANNOTATIONS = Topic(
    "sportello.conversations.annotations.v1", (ConversationNoteAdded, ConversationTagsChanged),
)

# Agents' presence and capacity (assignment), keyed by agent id: the gateway's utilisation KPIs.
AGENTS_PRESENCE = Topic("sportello.agents.presence.v1", (AgentPresenceChanged,))

ALL_TOPICS: tuple[Topic, ...] = (
    MESSAGES_RECEIVED,
    MESSAGES_SCORED,
    CONVERSATIONS_ASSIGNMENT,
    CRM_SYNCED,
    CRM_CONTACTS,
    CUSTOMERS,
    CONVERSATIONS_ACTIVITY,
    CONVERSATIONS_ANNOTATIONS,
    AGENTS_PRESENCE,
)


def topic_for(event: type[Event]) -> Topic:
    """The one topic an event type is published on."""
    for topic in ALL_TOPICS:
        if topic.carries(event):
            return topic
    raise LookupError(f"no topic carries {event.__name__}")


def all_topic_names() -> list[str]:
    names: list[str] = []
    for topic in ALL_TOPICS:
        names += [topic.name, topic.dead_letter]
    return names


class Groups:
    """Consumer groups: one per (service, purpose). Renaming one resets its offsets."""

    PRIORITY_SCORER = "sportello.priority.scorer"
    # Everything else priority follows (replies, status, owners' teams, CRM tiers): a separate
    # group so a backlog there never delays scoring.
    PRIORITY_CONTEXT = "sportello.priority.context"
    ASSIGNMENT_ROUTER = "sportello.assignment.router"
    # Replies, resolutions and SLA warnings: a separate group so they never wait behind routing.
    ASSIGNMENT_ACTIVITY = "sportello.assignment.activity"
    CRM_SYNC = "sportello.crm-sync.mirror"
    # Outbound webhooks: fans every catalogued event out to the subscriptions (durable queue).
    CRM_SYNC_WEBHOOKS = "sportello.crm-sync.webhooks"
    GATEWAY_READ_MODEL = "sportello.gateway.read-model"
    # The KPI aggregator: its own group so reports never slow the read model, nor the reverse.
    GATEWAY_KPI = "sportello.gateway.kpi"
