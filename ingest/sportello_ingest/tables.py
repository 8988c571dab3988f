"""Ingest's schema.

A *customer* owns *identities* (one per platform id: an X user id, a Messenger PSID, an e-mail address);
linking an identity to a customer gives them one history across channels. A *conversation* belongs to one
customer and one brand *account* (``x:<user id>``, ``facebook:<page id>``, ``email:<address>``...), and at
most one is open per (customer, account). Every webhook request is archived in *deliveries* before it is
parsed, so nothing accepted is lost even when parsing fails; ``replay`` re-ingests from there.

The *identity graph* (``identity_graph``): an identity is *verified* when it is proven to be the customer's (seen as
a platform message's author, learnt from a platform's answer, linked as verified) and merely claimed otherwise. A
*merge* folds one customer into another (``merged_into``): its identities move to the survivor, its conversations
stay its own but belong to the survivor's history, and the ``merges`` row lets it be undone exactly. Weak matches
(a claimed identifier, the same handle elsewhere) become *merge suggestions* for a person to decide; every change
is written to ``customer_audit``.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from sportello.db import messaging_tables
from sportello.db.idempotency import idempotency_table

metadata = MetaData(schema="ingest")
_JSON = JSON().with_variant(JSONB(), "postgresql")

customers = Table(
    "customers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("followers", Integer, nullable=True),
    Column("verified", Boolean, nullable=False, server_default=text("false")),
    # Blocked customers' messages are archived but open no conversation and queue no work.
    Column("blocked", Boolean, nullable=False, server_default=text("false")),
    Column("blocked_reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Set when this customer was merged into another (the survivor): clients follow it.
    Column("merged_into", Uuid, ForeignKey("ingest.customers.id", name="customers_merged_into_fkey"),
           nullable=True),
    # Orders the events about this customer (CustomerUpdated, and CustomerMerged/Unmerged of a survivor).
    Column("sequence", Integer, nullable=False, server_default=text("0")),
    CheckConstraint("merged_into IS NULL OR merged_into <> id", name="customers_not_merged_into_self"),
    Index("customers_by_survivor", "merged_into", postgresql_where=text("merged_into IS NOT NULL")),
)

identities = Table(
    "identities",
    metadata,
    Column("platform", Text, primary_key=True),
    Column("external_id", Text, primary_key=True),
    Column("customer_id", Uuid, ForeignKey("ingest.customers.id"), nullable=False, index=True),
    Column("handle", Text, nullable=True),
    # message: seen as an author; private_reply: learnt from a platform's answer; api: linked by hand.
    Column("source", Text, nullable=False),
    # Proven to be theirs (a message's author, a platform's answer, linked as verified); false when only
    # claimed. Only verified identifiers merge customers automatically, and only they route messages.
    Column("verified", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
# Weak matching when a customer is created: the same handle elsewhere, an address someone only claimed.
Index("identities_by_handle", func.lower(func.ltrim(identities.c.handle, "@")),
      postgresql_where=text("handle IS NOT NULL"))
Index("identities_claimed_by_address", func.lower(identities.c.external_id),
      postgresql_where=text("NOT verified"))

merges = Table(
    "merges",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("survivor_id", Uuid, ForeignKey("ingest.customers.id"), nullable=False, index=True),
    Column("merged_id", Uuid, ForeignKey("ingest.customers.id"), nullable=False, index=True),
    Column("automatic", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", Text, nullable=False),
    # [{"platform", "external_id"}]: exactly what moved, so an unmerge gives back those and no others.
    Column("identities_moved", _JSON, nullable=False, server_default=text("'[]'")),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("undone_at", DateTime(timezone=True), nullable=True),
    Column("undone_by", Text, nullable=True),
    CheckConstraint("survivor_id <> merged_id", name="merges_not_into_self"),
)

merge_suggestions = Table(
    "merge_suggestions",
    metadata,
    Column("id", Uuid, primary_key=True),
    # Accepting merges other_customer_id into customer_id.
    Column("customer_id", Uuid, ForeignKey("ingest.customers.id"), nullable=False, index=True),
    Column("other_customer_id", Uuid, ForeignKey("ingest.customers.id"), nullable=False, index=True),
    # Which identifier or handle matched, and why that is not enough to merge on its own.
    Column("evidence", _JSON, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("decided_by", Text, nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("merge_id", Uuid, ForeignKey("ingest.merges.id"), nullable=True),
    CheckConstraint("status IN ('pending', 'accepted', 'rejected')", name="merge_suggestions_status"),
    CheckConstraint("customer_id <> other_customer_id", name="merge_suggestions_two_customers"),
)
# At most one pending suggestion per unordered pair of customers.
Index("merge_suggestions_one_pending_per_pair",
      func.least(merge_suggestions.c.customer_id, merge_suggestions.c.other_customer_id),
      func.greatest(merge_suggestions.c.customer_id, merge_suggestions.c.other_customer_id),
      unique=True, postgresql_where=text("status = 'pending'"))

AUDIT_ACTIONS = ("linked", "unlinked", "merged", "merged_into", "unmerged", "suggestion_created",
                 "suggestion_accepted", "suggestion_rejected", "auto_merge_refused")

customer_audit = Table(
    "customer_audit",
    metadata,
    # Increasing: orders the rows of one transaction, which share a time.
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("customer_id", Uuid, ForeignKey("ingest.customers.id"), nullable=False),
    Column("action", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("detail", _JSON, nullable=False, server_default=text("'{}'")),
    Column("at", DateTime(timezone=True), nullable=False),
    CheckConstraint("action IN (" + ", ".join(f"'{a}'" for a in AUDIT_ACTIONS) + ")",
                    name="customer_audit_action"),
    Index("customer_audit_by_customer", "customer_id", "at"),
)

# Open or snoozed: a snoozed conversation is parked, not finished; new messages still join it.
UNRESOLVED = text("status <> 'resolved'")

conversations = Table(
    "conversations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, ForeignKey("ingest.customers.id"), nullable=False),
    Column("account", Text, nullable=False),
    Column("channel", Text, nullable=False),
    # open, snoozed (parked by an agent; still the customer's unresolved conversation) or resolved.
    Column("status", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("last_message_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    # A snoozed conversation opens again by itself then (null: only when the customer writes).
    Column("snoozed_until", DateTime(timezone=True), nullable=True),
    # Orders status changes of one conversation for consumers.
    Column("status_sequence", Integer, nullable=False, server_default=text("0")),
    # At most one unresolved conversation per customer and brand account, even under concurrent
    # deliveries.
    Index("conversations_one_open_per_customer_account", "customer_id", "account", unique=True,
          postgresql_where=UNRESOLVED),
    Index("conversations_snoozed_until", "snoozed_until", postgresql_where=text("status = 'snoozed'")),
    Index("conversations_by_customer", "customer_id", "last_message_at"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("conversation_id", Uuid, ForeignKey("ingest.conversations.id"), nullable=False, index=True),
    Column("customer_id", Uuid, ForeignKey("ingest.customers.id"), nullable=False),
    Column("channel", Text, nullable=False),
    Column("account", Text, nullable=False),
    # The platform's id; NULL for an agent's reply until the platform has accepted it.
    Column("external_id", Text, nullable=True),
    Column("direction", Text, nullable=False),
    Column("visibility", Text, nullable=False),
    Column("author_id", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("reply_to", Text, nullable=True),
    # A private message continuing a public one: the public message it follows.
    Column("linked_message_id", Uuid, nullable=True),
    Column("flags", _JSON, nullable=False, server_default=text("'[]'")),
    Column("subject", Text, nullable=True),
    # inbound: received; outbound: pending → sent → delivered → read, or failed.
    Column("delivery_status", Text, nullable=False),
    Column("delivery_error", Text, nullable=True),
    Column("agent_id", Text, nullable=True),
    Column("template", _JSON, nullable=True),
    UniqueConstraint("channel", "external_id", name="messages_channel_external_id_key"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("channel", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("content_type", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    # pending (archived, not yet parsed), accepted, blocked, ignored, failed (see detail)
    Column("outcome", Text, nullable=False),
    Column("detail", Text, nullable=True),
    Column("processed_at", DateTime(timezone=True), nullable=True),
    Index("deliveries_by_time", "received_at"),
)

outbound_queue = Table(
    "outbound_queue",
    metadata,
    Column("message_id", Uuid, ForeignKey("ingest.messages.id"), primary_key=True),
    Column("account", Text, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("leased_until", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Index("outbound_queue_due", "next_attempt_at"),
)

# A platform's rate limit pauses the whole brand account, not one message.
send_pauses = Table(
    "send_pauses",
    metadata,
    Column("account", Text, primary_key=True),
    Column("until", DateTime(timezone=True), nullable=False),
)

# Facebook and Instagram allow one private reply per comment.
private_replies = Table(
    "private_replies",
    metadata,
    Column("channel", Text, primary_key=True),
    Column("comment_id", Text, primary_key=True),
    Column("message_id", Uuid, nullable=False),
)

chat_sessions = Table(
    "chat_sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account", Text, nullable=False),
    Column("visitor_id", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("email", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

outbox, inbox = messaging_tables(metadata)
# Agents' POSTs honour Idempotency-Key (sportello.http.idempotency): a retried reply is never sent twice.
idempotency_keys = idempotency_table(metadata)
