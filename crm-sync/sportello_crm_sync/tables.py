"""crm-sync's schema: which CRM contact each customer is, and which messages were mirrored."""

from sqlalchemy import Column, DateTime, MetaData, Table, Text, Uuid, func

from sportello.db import messaging_tables

metadata = MetaData(schema="crm_sync")

# One row per customer: later messages reuse the contact instead of upserting it again.
crm_links = Table(
    "crm_links",
    metadata,
    Column("customer_id", Uuid, primary_key=True),
    Column("crm", Text, nullable=False),
    Column("contact_id", Text, nullable=False),
    Column("synced_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The local record of what was mirrored: a message is appended to the CRM at most once.
interactions = Table(
    "interactions",
    metadata,
    Column("message_id", Uuid, primary_key=True),
    Column("crm", Text, nullable=False),
    Column("interaction_id", Text, nullable=False),
    Column("synced_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

outbox, inbox = messaging_tables(metadata)
