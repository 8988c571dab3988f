"""Priority's schema: one score per inbound message."""

from sqlalchemy import JSON, Column, DateTime, Float, Index, MetaData, Table, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB

from sportello.db import messaging_tables

metadata = MetaData(schema="priority")

message_scores = Table(
    "message_scores",
    metadata,
    Column("message_id", Uuid, primary_key=True),
    Column("conversation_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("score", Float, nullable=False),
    Column("sentiment_label", Text, nullable=False),
    Column("sentiment_score", Float, nullable=False),
    Column("breakdown", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    Column("scorer", Text, nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("message_scores_conversation", "conversation_id"),
)

outbox, inbox = messaging_tables(metadata)
