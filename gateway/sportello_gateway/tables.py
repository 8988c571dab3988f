"""The gateway's read model: conversations and messages as the events describe them.

Every column is filled by exactly one kind of event (or merged by a rule that ignores arrival order:
a maximum, a minimum, the newest sequence), so handlers can upsert in any order. A row may exist
before the event that completes it (a message scored before it was received, a reply's delivery
update before the reply, a conversation assigned before its first message): ``received_at IS NULL``
marks a placeholder message and ``opened_at IS NULL`` a conversation the API does not show yet.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR

from sportello.db import messaging_tables
from sportello.db.idempotency import idempotency_table

metadata = MetaData(schema="gateway")

# The list is shown only for conversations whose first message is known.
_VISIBLE = text("opened_at IS NOT NULL")

conversations = Table(
    "conversations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, nullable=False),
    # conversation.status_changed, applied only when its sequence is newer; open until one arrives.
    Column("status", Text, nullable=False, server_default="open"),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    # A snoozed conversation opens again by itself then (null: when the customer writes).
    Column("snoozed_until", DateTime(timezone=True), nullable=True),
    Column("status_sequence", BigInteger, nullable=True),
    # Derived from the messages table on every message event (order-independent); see
    # repository.recompute_from_messages for which messages count where.
    Column("channel", Text, nullable=True),
    Column("customer_display_name", Text, nullable=True),
    Column("opened_at", DateTime(timezone=True), nullable=True),
    Column("last_message_at", DateTime(timezone=True), nullable=True),
    Column("message_count", Integer, nullable=False, server_default="0"),
    Column("first_inbound_at", DateTime(timezone=True), nullable=True),
    Column("first_response_at", DateTime(timezone=True), nullable=True),
    # conversation.prioritised, applied only when its sequence is newer; until the first one, the
    # highest message.scored conversation_priority seen.
    Column("priority", Double, nullable=False, server_default="0"),
    Column("priority_sequence", BigInteger, nullable=True),
    Column("priority_band", Text, nullable=True),
    Column("priority_breakdown", JSON().with_variant(JSONB(), "postgresql"), nullable=True),
    Column("sla", JSON().with_variant(JSONB(), "postgresql"), nullable=True),
    Column("sla_deadline", DateTime(timezone=True), nullable=True),
    Column("sentiment_trajectory", JSON().with_variant(JSONB(), "postgresql"), nullable=True),
    # conversation.assigned / conversation.queued, applied only when their sequence is newer.
    Column("assignment_state", Text, nullable=False, server_default="unassigned"),
    Column("assignment_sequence", BigInteger, nullable=True),
    Column("agent_id", Uuid, nullable=True),
    Column("agent_name", Text, nullable=True),
    Column("agent_team", Text, nullable=True),
    Column("assigned_at", DateTime(timezone=True), nullable=True),
    # The team that owns the conversation: the assigned agent's, or the one it is queued for
    # (NULL when the queue names none). Agents with a team scope see their teams' conversations.
    Column("team", Text, nullable=True),
    # The latest scored inbound message's sentiment, recomputed from the messages on every
    # message.scored, so the list can filter on it (see repository.recompute_sentiment).
    Column("sentiment_label", Text, nullable=True),
    Column("sentiment_score", Double, nullable=True),
    # ok / at_risk / breached / NULL (no clock), from the SLA stage of conversation.prioritised
    # (see service.sla_state_of for the mapping).
    Column("sla_state", Text, nullable=True),
    # Sorted, normalised tags, replaced by the tag endpoints.
    Column("tags", ARRAY(Text), nullable=False, server_default="{}"),
    # The customer's name and the messages' text (simple configuration), recomputed from the
    # messages on every message event; one GIN index on 1M conversations instead of one on 10M
    # messages, so a search combines with the other filters in one bitmap on this table.
    Column("search_document", TSVECTOR, nullable=True),
    # The list's order is (priority DESC, opened_at, id); one index per way of filtering it, so a
    # page is a short index range scan whatever the table's size.
    Index("conversations_list", text("priority DESC"), "opened_at", "id",
          postgresql_where=_VISIBLE),
    Index("conversations_list_by_status", "status", text("priority DESC"), "opened_at", "id",
          postgresql_where=_VISIBLE),
    Index("conversations_list_by_agent", "agent_id", text("priority DESC"), "opened_at", "id",
          postgresql_where=_VISIBLE),
    # The inbox: open conversations of a team, or held by an agent, by priority; then the other
    # two sorts over a status. Every other filter is checked along one of these scans, except
    # the selective ones with GIN indexes (tags, full text) that the planner may start from.
    Index("conversations_inbox_by_team", "status", "team", text("priority DESC"), "opened_at",
          "id", postgresql_where=_VISIBLE),
    Index("conversations_inbox_by_agent", "status", "agent_id", text("priority DESC"),
          "opened_at", "id", postgresql_where=_VISIBLE),
    Index("conversations_inbox_by_sla", "status", "sla_deadline", "id",
          postgresql_where=_VISIBLE),
    Index("conversations_inbox_by_activity", "status", text("last_message_at DESC"),
          text("id DESC"), postgresql_where=_VISIBLE),
    Index("conversations_tags", "tags", postgresql_using="gin", postgresql_where=_VISIBLE),
    Index("conversations_search", "search_document", postgresql_using="gin",
          postgresql_where=_VISIBLE),
    # Summary: current open counts per assignment state, and first responses since a moment.
    Index("conversations_open_by_state", "assignment_state",
          postgresql_where=text("status = 'open' AND opened_at IS NOT NULL")),
    Index("conversations_first_response", "first_response_at",
          postgresql_include=["first_inbound_at"],
          postgresql_where=text("first_response_at IS NOT NULL")),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("conversation_id", Uuid, nullable=False),
    # Carried by every message event. A placeholder made by message.delivery_updated holds its
    # channel and moment until reply.requested (or message.received) overwrites them.
    Column("channel", Text, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    # message.received, or reply.requested for an agent's reply (NULL while the row is a
    # placeholder). received_at is when ingest accepted the message, as in ingest: for a reply,
    # when it was requested (which is also its sent_at, its place in the conversation).
    Column("external_id", Text, nullable=True),
    Column("direction", Text, nullable=True),
    Column("author_id", Text, nullable=True),
    Column("author_display_name", Text, nullable=True),
    Column("text", Text, nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=True),
    Column("account", Text, nullable=True),
    # 'public' is the contract's default for messages published before the field existed.
    Column("visibility", Text, nullable=False, server_default="public"),
    Column("flags", JSON().with_variant(JSONB(), "postgresql"), nullable=False,
           server_default="[]"),
    # reply.requested only: an agent's reply sent through Sportello (its platform echo is never
    # published as message.received), and who wrote it.
    Column("agent_reply", Boolean, nullable=False, server_default="false"),
    Column("agent_id", Text, nullable=True),
    # message.delivery_updated. The status only moves forward (see repository._DELIVERY_RANK);
    # NULL means no update yet: pending for a reply, sent for a message seen on the platform.
    # dispatched_at is the earliest update saying it went out (sent, delivered or read).
    Column("delivery_status", Text, nullable=True),
    Column("delivery_error", Text, nullable=True),
    Column("dispatched_at", DateTime(timezone=True), nullable=True),
    # message.scored (NULL until scored; outbound messages are never scored).
    Column("score", Double, nullable=True),
    Column("sentiment_label", Text, nullable=True),
    Column("sentiment_score", Double, nullable=True),
    Column("breakdown", JSON().with_variant(JSONB(), "postgresql"), nullable=True),
    Column("scorer", Text, nullable=True),
    # A conversation's messages in order: the detail view, the recomputed aggregates and the
    # latest sentiment all walk this index.
    Index("messages_conversation_sent", "conversation_id", "sent_at", "id"),
    # Summary volume: an index-only range scan over the messages sent since a moment.
    Index("messages_sent", "sent_at", postgresql_include=["direction", "channel"],
          postgresql_where=text("received_at IS NOT NULL")),
)

# What happened to a conversation, in order: its messages (the content stays in messages),
# assignment changes, status changes, internal notes and tag changes. Keyed by the event's id (a
# message's id, a note's id) so a redelivered event adds nothing; ordered by when it happened,
# then the event's own sequence, then arrival (position) for a total order a cursor can hold.
timeline = Table(
    "timeline",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("conversation_id", Uuid, nullable=False),
    Column("kind", Text, nullable=False),  # message / assignment / status / note / tags
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("sequence", BigInteger, nullable=False, server_default="0"),
    Column("position", BigInteger, Identity(always=False), nullable=False),
    Column("message_id", Uuid, nullable=True),
    # Kind-specific: who, which agent and team, why, the note's text, the tags added/removed.
    Column("detail", JSON().with_variant(JSONB(), "postgresql"), nullable=False,
           server_default="{}"),
    Index("timeline_conversation_order", "conversation_id", "occurred_at", "sequence",
          "position"),
)

outbox, inbox = messaging_tables(metadata)
# POSTs (notes, tags, CSAT) honour Idempotency-Key (sportello.http.idempotency).
idempotency_keys = idempotency_table(metadata)
