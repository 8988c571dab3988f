"""Ingest's schema.

A *customer* owns *identities* (one per platform id: an X user id, a Messenger PSID, an e-mail address);
linking an identity to a customer gives them one history across channels. A *conversation* belongs to one
customer and one brand *account* (``x:<user id>``, ``facebook:<page id>``, ``email:<address>``...), and at
most one is open per (customer, account). Every webhook request is archived in *deliveries* before it is
parsed, so nothing accepted is lost even when parsing fails; ``replay`` re-ingests from there.
"""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
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
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, ForeignKey("ingest.customers.id"), nullable=False),
    Column("account", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("last_message_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    # Orders status changes of one conversation for consumers.
    Column("status_sequence", Integer, nullable=False, server_default=text("0")),
    # At most one open conversation per customer and brand account, even under concurrent deliveries.
    Index("conversations_one_open_per_customer_account", "customer_id", "account", unique=True,
          postgresql_where=text("status = 'open'")),
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
