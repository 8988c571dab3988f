"""Assignment's schema: agents with their load, and the conversations routed to them or queued."""

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
    text,
)

from sportello.db import messaging_tables

metadata = MetaData(schema="assignment")

agents = Table(
    "agents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("team", Text, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("presence", Text, nullable=False),
    # Open assignments. Kept on the row (not counted) so claiming a slot is one atomic UPDATE.
    # It may exceed capacity only when a supervisor lowers capacity below the current load.
    Column("active_count", Integer, nullable=False, server_default=text("0")),
    # Tie-break between equally loaded agents: whoever waited longest gets the next one.
    Column("last_assigned_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("capacity BETWEEN 1 AND 50", name="agents_capacity_range"),
    CheckConstraint("presence IN ('online', 'away', 'offline')", name="agents_presence_known"),
    CheckConstraint("active_count >= 0", name="agents_active_count_not_negative"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Uuid, primary_key=True),  # ingest's conversation id
    Column("customer_id", Uuid, nullable=False),
    Column("status", Text, nullable=False),
    # The last owner stays recorded, which is how a customer's previous agent is found.
    Column("agent_id", Uuid, ForeignKey("assignment.agents.id"), nullable=True),
    Column("priority", Float, nullable=False),
    # The last sequence number emitted about this conversation (0: none yet).
    Column("sequence", Integer, nullable=False, server_default=text("0")),
    Column("queued_at", DateTime(timezone=True), nullable=True),
    Column("assigned_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('queued', 'assigned')", name="conversations_status_known"),
    CheckConstraint("status <> 'assigned' OR agent_id IS NOT NULL",
                    name="conversations_assigned_has_agent"),
    # Queue order, read by GET /v1/queue and by every drain.
    Index("conversations_queue_order", text("priority DESC"), "queued_at",
          postgresql_where=text("status = 'queued'")),
    Index("conversations_customer_last_owner", "customer_id", "assigned_at"),
)

outbox, inbox = messaging_tables(metadata)
