"""Ingest's schema: customers (one per channel identity for now), conversations, messages, raw payloads."""

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
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

customers = Table(
    "customers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("channel", Text, nullable=False),
    Column("author_id", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("followers", Integer, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("channel", "author_id", name="customers_identity_key"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, ForeignKey("ingest.customers.id"), nullable=False),
    Column("status", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("last_message_at", DateTime(timezone=True), nullable=False),
    # At most one open conversation per customer, even under concurrent deliveries.
    Index("conversations_one_open_per_customer", "customer_id", unique=True,
          postgresql_where=text("status = 'open'")),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("conversation_id", Uuid, ForeignKey("ingest.conversations.id"), nullable=False),
    Column("customer_id", Uuid, ForeignKey("ingest.customers.id"), nullable=False),
    Column("channel", Text, nullable=False),
    Column("external_id", Text, nullable=False),
    Column("direction", Text, nullable=False),
    Column("author_id", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("reply_to", Text, nullable=True),
    UniqueConstraint("channel", "external_id", name="messages_channel_external_id_key"),
)

raw_payloads = Table(
    "raw_payloads",
    metadata,
    Column("message_id", Uuid, ForeignKey("ingest.messages.id"), primary_key=True),
    Column("channel", Text, nullable=False),
    Column("payload", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

outbox, inbox = messaging_tables(metadata)
