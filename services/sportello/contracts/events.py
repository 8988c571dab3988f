"""Event payloads. Past tense names; a breaking change is a new version, never an edit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sportello.contracts.envelope import Event

Direction = Literal["inbound", "outbound"]
Visibility = Literal["public", "private"]
DeliveryStatus = Literal["pending", "sent", "delivered", "read", "failed"]
AssignReason = Literal["new", "previous_owner", "capacity_freed", "manual", "transfer", "claimed",
                       "reassigned"]
QueueReason = Literal["new", "owner_offline", "no_reply", "transfer", "handoff", "reopened",
                      "follow_up", "unassigned", "unsnoozed"]


class Author(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    display_name: str
    followers: int | None = None
    handle: str | None = None
    verified: bool = False


class MessageReceived(Event):
    """Ingest accepted a message and threaded it into a conversation."""

    event_type = "message.received"
    event_version = 1

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    conversation_opened: bool
    channel: str
    external_id: str
    direction: Direction
    author: Author
    text: str
    sent_at: datetime
    received_at: datetime
    reply_to: str | None = None
    # Added in place (optional, so v1 readers and records stay valid):
    account: str | None = Field(default=None, description="The brand account, e.g. x:2244994945")
    visibility: Visibility = "public"
    flags: tuple[str, ...] = Field(default=(), description="Platform hints, e.g. spam, possibly_sensitive")
    linked_message_id: uuid.UUID | None = Field(
        default=None, description="The public message a private one continues")
    subject: str | None = None


class ReplyRequested(Event):
    """An agent's reply was accepted for sending; ``MessageDeliveryUpdated`` follows its progress."""

    event_type = "reply.requested"
    event_version = 1

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    channel: str
    account: str
    visibility: Visibility
    text: str
    agent_id: str | None
    requested_at: datetime


class MessageDeliveryUpdated(Event):
    """A sent message moved on: sent (with its platform id), delivered, read, or failed (with why)."""

    event_type = "message.delivery_updated"
    event_version = 1

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    channel: str
    external_id: str | None
    status: DeliveryStatus
    error: str | None = None
    at: datetime


ConversationStatus = Literal["open", "snoozed", "resolved"]
StatusReason = Literal["resolved", "reopened_by_customer", "reopened_by_agent", "continued_in_private",
                       "snoozed", "unsnoozed_by_customer", "unsnoozed_by_agent", "snooze_ended"]


class ConversationStatusChanged(Event):
    """A conversation was resolved, snoozed or (re)opened. ``sequence`` orders the changes of one
    conversation.

    Snoozed: an agent parked it until ``snoozed_until`` (or, when that is null, until the customer
    writes). It keeps its owner, leaves the active inbox and frees the owner's slot; it is not an
    answer, so a response clock that runs keeps running. It opens again when the customer writes
    (``unsnoozed_by_customer``), when the time comes (``snooze_ended``) or by hand
    (``unsnoozed_by_agent``)."""

    event_type = "conversation.status_changed"
    event_version = 1

    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    # Widened in place with "snoozed" and its reasons (all consumers live in this repository and
    # deploy together).
    status: ConversationStatus
    reason: StatusReason
    sequence: int
    at: datetime
    # Added in place (optional): when a snoozed conversation opens again by itself.
    snoozed_until: datetime | None = None


Presence = Literal["online", "away", "offline"]


class AgentPresenceChanged(Event):
    """An agent came online, turned away or went offline, or their capacity changed. Each event is
    the agent's whole current picture; ``sequence`` orders the changes of one agent."""

    event_type = "agent.presence_changed"
    event_version = 1

    agent_id: uuid.UUID
    name: str
    team: str
    presence: Presence
    capacity: int = Field(description="Conversations the agent may hold at once on a channel (the "
                                      "default limit; a channel may have its own)")
    sequence: int
    at: datetime


class AgentRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    team: str


class ConversationAssigned(Event):
    """The conversation has an owner. ``sequence`` orders assignment changes of one conversation."""

    event_type = "conversation.assigned"
    event_version = 1

    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    agent: AgentRef
    # Widened in place (all consumers live in this repository and deploy together): "manual"
    # (a supervisor chose), "transfer" (the owner or a supervisor handed it on), "claimed" (an
    # agent took it from the queue), "reassigned" (its owner did not answer in time).
    reason: AssignReason
    priority: float
    sequence: int
    assigned_at: datetime
    # Added in place (optional): the agent it was taken from (transfer, re-assignment).
    previous_agent_id: uuid.UUID | None = None


class ConversationQueued(Event):
    """Nobody could take the conversation; it waits in the priority-ordered queue."""

    event_type = "conversation.queued"
    event_version = 1

    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    priority: float
    sequence: int
    queued_at: datetime
    # Added in place (optional): why it (re-)entered the queue, and whom it was taken from.
    reason: QueueReason = "new"
    previous_agent_id: uuid.UUID | None = None
    team: str | None = None
    note: str | None = Field(default=None, description="A bot's hand-off summary, or a transfer's note")


class ConversationEscalated(Event):
    """An SLA warning on a conversation nobody has answered yet: it enters the supervisors' queue."""

    event_type = "conversation.escalated"
    event_version = 1

    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    agent_id: uuid.UUID | None = Field(description="The owner who has not answered, if any")
    stage: str = Field(description="The SLA stage that raised it: at_risk, critical or breached")
    deadline: datetime | None
    sequence: int
    at: datetime


class CrmSynced(Event):
    """The customer and the interaction are mirrored in the CRM."""

    event_type = "crm.synced"
    event_version = 1

    message_id: uuid.UUID
    customer_id: uuid.UUID
    crm: str
    crm_contact_id: str | None
    crm_interaction_id: str | None
    status: Literal["synced", "not_configured"]


class CrmContactUpdated(Event):
    """The CRM changed what it knows about a customer that matters here: their tier or VIP status,
    whether they may be contacted, and who owns the account. Each event is the whole current
    picture of these fields (a null tier means none); ``sequence`` orders updates of one customer,
    so a stale update never overwrites a newer one."""

    event_type = "crm.contact_updated"
    event_version = 1

    customer_id: uuid.UUID
    crm: str
    tier: str | None = Field(default=None, description="e.g. platinum, gold; null when not set")
    vip: bool = False
    do_not_contact: bool = False
    owner: str | None = None
    sequence: int
    at: datetime


class IdentityRef(BaseModel):
    """One of a customer's identifiers: a platform id (an X user id, a Messenger PSID), an e-mail
    address, a phone number, a CRM id. ``verified`` says the identifier is proven to be theirs (seen
    as the author of a platform message, confirmed by the CRM), not merely claimed (typed in a chat
    form): only verified identifiers may merge customers automatically."""

    model_config = ConfigDict(frozen=True)

    platform: str
    external_id: str
    handle: str | None = None
    verified: bool = True


class CustomerUpdated(Event):
    """A customer was created, or their profile or identities changed. Each event carries the whole
    current picture; ``sequence`` orders the changes of one customer."""

    event_type = "customer.updated"
    event_version = 1

    customer_id: uuid.UUID
    change: Literal["created", "profile", "identity_linked", "identity_unlinked"]
    display_name: str
    identities: tuple[IdentityRef, ...]
    sequence: int
    at: datetime


class CustomerMerged(Event):
    """``merged_customer_id`` was folded into ``customer_id``: its identities now resolve to the
    survivor, whose history includes the merged customer's conversations. ``merge_id`` names the merge
    so it can be undone (``CustomerUnmerged``)."""

    event_type = "customer.merged"
    event_version = 1

    customer_id: uuid.UUID
    merged_customer_id: uuid.UUID
    merge_id: uuid.UUID
    identities_moved: tuple[IdentityRef, ...]
    automatic: bool = Field(description="True when a verified exact identifier merged them, no person")
    reason: str
    actor: str
    sequence: int
    at: datetime


class CustomerUnmerged(Event):
    """A merge was undone: ``restored_customer_id`` exists again with the identities it brought."""

    event_type = "customer.unmerged"
    event_version = 1

    customer_id: uuid.UUID
    restored_customer_id: uuid.UUID
    merge_id: uuid.UUID
    identities_restored: tuple[IdentityRef, ...]
    actor: str
    sequence: int
    at: datetime
