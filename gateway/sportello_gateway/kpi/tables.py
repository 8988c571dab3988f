"""The KPI aggregator's tables, in the gateway schema but written only by the KPI consumer group.

Three layers, each derived from the one before, so any arrival order of the events gives the same
rows:
- *inputs* (``kpi_messages``, ``kpi_assignments``, ``kpi_status_changes``, ``kpi_agent_presence``
  and the input columns of ``kpi_conversations``): what the events said, each column owned by one
  kind of event, merged by a rule that ignores order (keyed by message id or by sequence);
- *facts* (the derived columns of ``kpi_conversations``): recomputed from one conversation's inputs
  whenever one of them changes; an agent's presence intervals are derived from their successive
  changes in the bucket statement itself (``kpi_agents`` keeps each agent's latest change);
- *buckets* (``kpi_hourly``, rolled up per day in ``kpi_daily``): each fact's contribution, summed
  per hour and dimension. A change
  subtracts the conversation's old contribution and adds the new one in the same transaction, so the
  buckets always equal the sum over the facts (``rebuild`` recomputes them from scratch).

The read model's tables are never written here: the two consumer groups progress independently.
"""

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Index,
    Integer,
    SmallInteger,
    Table,
    Text,
    Uuid,
    text,
)

from sportello_gateway.tables import metadata

kpi_messages = Table(
    "kpi_messages",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("conversation_id", Uuid, nullable=False),
    # message.received / reply.requested (a placeholder left by a delivery update or a score holds
    # NULLs until then; known = one of them arrived).
    Column("known", Boolean, nullable=False, server_default="false"),
    Column("channel", Text, nullable=True),
    Column("direction", Text, nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("agent_reply", Boolean, nullable=False, server_default="false"),
    # message.delivery_updated: the earliest moment it went out, and whether it finally failed.
    Column("dispatched_at", DateTime(timezone=True), nullable=True),
    Column("failed", Boolean, nullable=False, server_default="false"),
    # message.scored
    Column("sentiment_label", Text, nullable=True),
    Index("kpi_messages_conversation", "conversation_id"),
)

kpi_assignments = Table(
    "kpi_assignments",
    metadata,
    # conversation.assigned / conversation.queued, one row per sequence number.
    Column("conversation_id", Uuid, primary_key=True),
    Column("sequence", BigInteger, primary_key=True),
    Column("kind", Text, nullable=False),  # assigned | queued
    Column("agent_id", Uuid, nullable=True),
    Column("team", Text, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

kpi_status_changes = Table(
    "kpi_status_changes",
    metadata,
    # conversation.status_changed, one row per sequence number.
    Column("conversation_id", Uuid, primary_key=True),
    Column("sequence", BigInteger, primary_key=True),
    Column("status", Text, nullable=False),  # open | snoozed | resolved
    Column("at", DateTime(timezone=True), nullable=False),
)

kpi_agent_presence = Table(
    "kpi_agent_presence",
    metadata,
    # agent.presence_changed, one row per (agent, sequence): each change opens an interval that
    # the agent's next change closes (sql._PRESENCE).
    Column("agent_id", Uuid, primary_key=True),
    Column("sequence", BigInteger, primary_key=True),
    Column("presence", Text, nullable=False),  # online | away | offline
    Column("capacity", Integer, nullable=False),
    Column("team", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

kpi_agents = Table(
    "kpi_agents",
    metadata,
    # Each agent's latest presence change (highest sequence): its interval is still running, and
    # a report adds it up to "now" from these few rows. The presence handler locks this row, so
    # one agent's subtract-insert-add never interleaves.
    Column("agent_id", Uuid, primary_key=True),
    Column("sequence", BigInteger, nullable=False),
    Column("presence", Text, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("team", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

kpi_conversations = Table(
    "kpi_conversations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, nullable=True),
    # -- inputs: conversation.prioritised (the newest SLA deadline of each kind, by sequence) ----
    Column("sla_first_response_deadline", DateTime(timezone=True), nullable=True),
    Column("sla_first_response_sequence", BigInteger, nullable=True),
    Column("sla_resolution_deadline", DateTime(timezone=True), nullable=True),
    Column("sla_resolution_sequence", BigInteger, nullable=True),
    # -- inputs: POST /v1/conversations/{id}/csat (the latest answer replaces the previous one) --
    Column("csat_score", SmallInteger, nullable=True),
    Column("csat_comment", Text, nullable=True),
    Column("csat_at", DateTime(timezone=True), nullable=True),
    # -- facts, recomputed from the inputs (repository.recompute_facts) --------------------------
    Column("channel", Text, nullable=True),
    Column("channel_count", Integer, nullable=False, server_default="0"),
    Column("team", Text, nullable=True),
    Column("agent_id", Uuid, nullable=True),
    Column("opened_at", DateTime(timezone=True), nullable=True),
    Column("first_inbound_at", DateTime(timezone=True), nullable=True),
    Column("first_response_at", DateTime(timezone=True), nullable=True),
    Column("first_response_seconds", Double, nullable=True),
    Column("next_response_at", ARRAY(DateTime(timezone=True)), nullable=False,
           server_default="{}"),
    Column("next_response_seconds", ARRAY(Double), nullable=False, server_default="{}"),
    Column("inbound_count", Integer, nullable=False, server_default="0"),
    Column("outbound_count", Integer, nullable=False, server_default="0"),
    Column("status", Text, nullable=False, server_default="open"),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("resolution_seconds", Double, nullable=True),
    Column("reopen_count", Integer, nullable=False, server_default="0"),
    Column("assignment_count", Integer, nullable=False, server_default="0"),
    Column("handle_seconds", Double, nullable=True),
    Column("sla_first_response_met", Boolean, nullable=True),
    Column("sla_resolution_met", Boolean, nullable=True),
    Column("first_sentiment", Text, nullable=True),
    Column("last_sentiment", Text, nullable=True),
    # The CSV export walks the conversations opened in a period.
    Index("kpi_conversations_opened", "opened_at", postgresql_where=text("opened_at IS NOT NULL")),
)

kpi_hourly = Table(
    "kpi_hourly",
    metadata,
    # One row per (hour, dimensions, measure, histogram bin); '' stands for "none" in a dimension,
    # so the key needs no NULL handling. ``bin`` is 0 for plain counts and sums, the log-scale bin
    # for histograms (see histogram.py), the label index for sentiment and CSAT distributions.
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("channel", Text, primary_key=True),
    Column("team", Text, primary_key=True),
    Column("agent_id", Text, primary_key=True),
    Column("measure", Text, primary_key=True),
    Column("bin", SmallInteger, primary_key=True),
    Column("value", Double, nullable=False),
    # A report's period is a range of the primary key (it leads with the hour); the backlog and
    # the snoozed conversations at the period's start sum every earlier change of theirs, through
    # this narrow index.
    Index("kpi_hourly_running", "hour",
          postgresql_include=["channel", "team", "agent_id", "measure", "value"],
          postgresql_where=text("measure IN ('backlog_delta', 'snoozed_delta')")),
)

kpi_daily = Table(
    "kpi_daily",
    metadata,
    # kpi_hourly rolled up per UTC day at several grains, so a 30-day report reads a few thousand
    # rows whatever the number of agents and conversations: 'all' (every dimension '*'),
    # 'channel', 'team', 'channel_team' and 'agent' keep those dimensions and put '*' in the
    # others. Written by the same statement as kpi_hourly, so they always agree; reports by hour,
    # or by agent together with a channel or team, read kpi_hourly. Volume counts keep their UTC
    # hour of the day as their bin.
    Column("grain", Text, primary_key=True),
    Column("day", DateTime(timezone=True), primary_key=True),
    Column("channel", Text, primary_key=True),
    Column("team", Text, primary_key=True),
    Column("agent_id", Text, primary_key=True),
    Column("measure", Text, primary_key=True),
    Column("bin", SmallInteger, primary_key=True),
    Column("value", Double, nullable=False),
)
