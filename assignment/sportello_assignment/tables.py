"""Assignment's schema: teams, agents with their skills, presence and load, and the conversations
routed to them, queued, held by a bot or resolved."""

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from sportello.db import messaging_tables
from sportello_assignment.policy import SHARED_CLASS

metadata = MetaData(schema="assignment")

teams = Table(
    "teams",
    metadata,
    Column("name", Text, primary_key=True),
    # Brand accounts (e.g. "x:2244994945") whose conversations this team answers.
    Column("accounts", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

agents = Table(
    "agents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("team", Text, nullable=False),
    # Concurrent conversations per channel, unless channel_capacity says otherwise for a channel.
    Column("capacity", Integer, nullable=False),
    Column("channel_capacity", JSONB, nullable=False, server_default=text("'{}'")),
    # Skills. Empty means "any": an agent without languages listed is not asked which they speak.
    Column("languages", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("channels", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("topics", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("presence", Text, nullable=False),
    Column("presence_changed_at", DateTime(timezone=True), nullable=False,
           server_default=func.now()),
    # The sequence of the last agent.presence_changed (presence, capacity, name, team); 0: none.
    Column("presence_sequence", Integer, nullable=False, server_default=text("0")),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # A business calendar (JSON) of the agent's shifts; null: no shifts, available whenever online.
    Column("shifts", JSONB, nullable=True),
    # Open conversations: in total, per channel, and as a weighted load (sum of 1/capacity of each
    # conversation's channel). Kept on the row so claiming a slot is one atomic UPDATE.
    Column("active_count", Integer, nullable=False, server_default=text("0")),
    Column("active", JSONB, nullable=False, server_default=text("'{}'")),
    Column("load", Float, nullable=False, server_default=text("0")),
    # Tie-break between equally loaded agents, and round robin's rotation.
    Column("last_assigned_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("capacity BETWEEN 1 AND 50", name="agents_capacity_range"),
    CheckConstraint("presence IN ('online', 'away', 'offline')", name="agents_presence_known"),
    CheckConstraint("active_count >= 0", name="agents_active_count_not_negative"),
    # The agent order of a decision: the least loaded online agent with room is found by walking
    # this from the start instead of sorting every agent.
    Index("agents_online_by_load", "load", text("last_assigned_at NULLS FIRST"), "id",
          postgresql_where=text("presence = 'online'")),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Uuid, primary_key=True),  # ingest's conversation id
    Column("customer_id", Uuid, nullable=False),
    Column("status", Text, nullable=False),
    Column("channel", Text, nullable=False, server_default=text("'unknown'")),
    Column("account", Text, nullable=True),
    Column("language", Text, nullable=True),
    Column("topic", Text, nullable=True),  # the intent of its first message (sales, legal, ...)
    Column("team", Text, nullable=True),  # null: any team
    # The owner (assigned, waiting, snoozed), or the last owner (queued, resolved): how a
    # returning customer, a follow-up and a snooze ending find their agent again.
    Column("agent_id", Uuid, ForeignKey("assignment.agents.id"), nullable=True),
    Column("priority", Float, nullable=False),
    Column("band_rank", SmallInteger, nullable=False, server_default=text("2")),
    Column("sla_deadline", DateTime(timezone=True), nullable=True),
    # Its place in ours' queue: the SLA deadline, brought forward to at most the longest wait
    # (Rules.longest_wait_s) after the customer started waiting, less the priority head start;
    # see Rules.queue_deadline (repository.queue_place is its SQL twin).
    Column("queue_deadline", DateTime(timezone=True), nullable=True),
    # The last sequence number emitted about this conversation (0: none yet).
    Column("sequence", Integer, nullable=False, server_default=text("0")),
    # ingest's status sequence last applied (a late "resolved" never closes a reopened case).
    Column("status_sequence", Integer, nullable=False, server_default=text("0")),
    Column("queued_at", DateTime(timezone=True), nullable=True),
    Column("assigned_at", DateTime(timezone=True), nullable=True),
    # Queued for its last owner only until reserved_until, then for anyone.
    Column("reserved_for", Uuid, nullable=True),
    Column("reserved_until", DateTime(timezone=True), nullable=True),
    # When a queued conversation may go to agents of any team and topic (skills widen); the sweep
    # that passes it sets ``widened`` (and clears an expired reservation), so matching needs no clock.
    Column("widen_at", DateTime(timezone=True), nullable=True),
    Column("widened", Boolean, nullable=False, server_default=text("false")),
    # Taken from this agent for not answering: not given back to them.
    Column("avoid_agent_id", Uuid, nullable=True),
    # Assigned and not answered yet: re-assigned when this passes.
    Column("reply_due_at", DateTime(timezone=True), nullable=True),
    Column("escalated_at", DateTime(timezone=True), nullable=True),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    # The customer's latest message: a reply older than it does not put the ball in their court.
    Column("last_inbound_at", DateTime(timezone=True), nullable=True),
    Column("handoff_note", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # waiting: the owner answered and the customer has not written since (no slot held).
    # snoozed: an agent parked it (ingest decides when it wakes); owner kept, no slot, no timers.
    CheckConstraint("status IN ('queued', 'assigned', 'waiting', 'snoozed', 'bot', 'resolved')",
                    name="conversations_status_known"),
    CheckConstraint("status <> 'assigned' OR agent_id IS NOT NULL",
                    name="conversations_assigned_has_agent"),
    # Queue orders, read by GET /v1/queue and every dispatch: ours (queue class, i.e. urgent, then
    # high, then normal and low together (policy.queue_class); queue deadline, band, waiting) and
    # the first-come-first-served order of the baseline policies.
    Index("conversations_queue_class_due", text(f"greatest(band_rank, {SHARED_CLASS}) DESC"),
          "queue_deadline", text("band_rank DESC"), "queued_at", "id",
          postgresql_where=text("status = 'queued'")),
    Index("conversations_queue_fifo", "queued_at", postgresql_where=text("status = 'queued'")),
    # Lets the planner find little work on a quiet channel without walking the whole queue.
    Index("conversations_queue_channel", "channel", postgresql_where=text("status = 'queued'")),
    Index("conversations_customer_last_owner", "customer_id", "assigned_at"),
    Index("conversations_owner", "agent_id", postgresql_where=text("status = 'assigned'")),
    Index("conversations_reply_due", "reply_due_at",
          postgresql_where=text("status = 'assigned' AND reply_due_at IS NOT NULL")),
    Index("conversations_queue_timers", text("least(reserved_until, widen_at)"),
          postgresql_where=text("status = 'queued'")),
    Index("conversations_escalated", "escalated_at", postgresql_where=text("escalated_at IS NOT NULL")),
)

outbox, inbox = messaging_tables(metadata)
