"""Priority's schema: message scores, each conversation's priority and SLA clock, the checkpoints
that come due, and the configuration agents and admins change through the API."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from sportello.db import messaging_tables

metadata = MetaData(schema="priority")
_JSON = JSON().with_variant(JSONB(), "postgresql")

message_scores = Table(
    "message_scores",
    metadata,
    Column("message_id", Uuid, primary_key=True),
    Column("conversation_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("score", Float, nullable=False),
    Column("sentiment_label", Text, nullable=False),
    Column("sentiment_score", Float, nullable=False),
    Column("breakdown", _JSON, nullable=False),
    Column("scorer", Text, nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Kept so an agent's correction becomes a training example (labels) without asking ingest.
    Column("text", Text, nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("p_negative", Float, nullable=True),
    Column("p_neutral", Float, nullable=True),
    Column("p_positive", Float, nullable=True),
    Column("intent", Text, nullable=True),
    Column("urgency", Float, nullable=True),
    # An agent's correction overrides the model in the trajectory.
    Column("corrected_label", Text, nullable=True),
    Index("message_scores_conversation", "conversation_id", "sent_at"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("handle", Text, nullable=True),
    Column("followers", BigInteger, nullable=True),
    Column("verified", Boolean, nullable=False, server_default="false"),
    # crm.contact_updated, applied only when its sequence is newer.
    Column("tier", Text, nullable=True),
    Column("vip", Boolean, nullable=False, server_default="false"),
    Column("do_not_contact", Boolean, nullable=False, server_default="false"),
    Column("crm_sequence", BigInteger, nullable=True),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, nullable=False),
    Column("channel", Text, nullable=False),
    Column("account", Text, nullable=True),
    Column("team", Text, nullable=True),  # from conversation.assigned: picks team weights
    Column("status", Text, nullable=False, server_default="open"),
    Column("status_sequence", BigInteger, nullable=True),
    # The strongest text factors of the messages since the last response (composition.strongest).
    Column("text_factors", _JSON, nullable=False),
    Column("spam", Boolean, nullable=False, server_default="false"),
    Column("answered", Boolean, nullable=False, server_default="false"),
    # The latest response or resolution: a message sent until then, scored late (the topics are
    # consumed apart), is answered already and starts no clock.
    Column("settled_at", DateTime(timezone=True), nullable=True),
    # The running SLA clock (NULL kind: none running).
    Column("clock_kind", Text, nullable=True),
    Column("clock_policy", Text, nullable=True),
    Column("clock_band", Text, nullable=True),
    Column("clock_started_at", DateTime(timezone=True), nullable=True),
    Column("clock_deadline", DateTime(timezone=True), nullable=True),
    Column("clock_stage", Text, nullable=True),
    # The latest conversation.prioritised sent.
    Column("priority", Float, nullable=False),
    Column("band", Text, nullable=False),
    Column("weights_profile", Text, nullable=False),
    Column("sequence", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("priority_conversations_customer", "customer_id"),
    Index("priority_conversations_open_account", "account", postgresql_where=text("status = 'open'")),
    Index("priority_conversations_open_team", "team", postgresql_where=text("status = 'open'")),
)

# The moments a conversation's priority must be recomputed (an SLA stage begins, weights changed).
# The ticker takes only the rows come due, so its cost follows the work, not the backlog.
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("conversation_id", Uuid, nullable=False),
    Column("stage", Text, nullable=False),  # halfway .. breached, or recompute:<reason>
    Column("due_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("conversation_id", "stage"),
    Index("checkpoints_due", "due_at"),
)

weight_profiles = Table(
    "weight_profiles",
    metadata,
    Column("name", Text, primary_key=True),
    Column("weights", _JSON, nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def _named_specs(name: str) -> Table:
    """Configuration stored as validated JSON by name (see sla_specs)."""
    return Table(
        name,
        metadata,
        Column("name", Text, primary_key=True),
        Column("spec", _JSON, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


calendars = _named_specs("calendars")
sla_policies = _named_specs("sla_policies")

press_list = Table(
    "press_list",
    metadata,
    Column("handle", Text, primary_key=True),  # normalised: no '@', lower case
    Column("note", Text, nullable=True),
    Column("added_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Agents' corrections: the training examples for the next model (`train`).
labels = Table(
    "labels",
    metadata,
    Column("message_id", Uuid, primary_key=True),
    Column("text", Text, nullable=False),
    Column("sentiment", Text, nullable=True),
    Column("intent", Text, nullable=True),
    Column("corrected_by", Text, nullable=False),
    Column("corrected_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revision", Integer, nullable=False, server_default="1"),
)

# A supervisor's pin on a conversation's priority (one at most): while in force, the composed
# priority is this value; the model's factors stay in the breakdown beside it.
overrides = Table(
    "overrides",
    metadata,
    Column("conversation_id", Uuid, primary_key=True),
    Column("priority", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("set_by", Text, nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),  # NULL: until cleared
)

outbox, inbox = messaging_tables(metadata)
