"""crm-sync's schema.

Two kinds of outside delivery share one durable queue, ``jobs``: mirroring into the CRM (``sink =
'crm'``, one lane per customer) and outbound webhooks (``sink = 'webhook'``, one lane per subscription
and conversation). A lane is worked strictly in id order: its oldest pending job blocks the rest, which
is what keeps order per customer (CRM) and per conversation (webhooks) through retries and outages.
Handlers only insert jobs (cheap, inside the consumed event's transaction); the dispatcher makes the
calls. ``attempts`` is the delivery log.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from sportello.db import messaging_tables

metadata = MetaData(schema="crm_sync")

# One row per customer: later entries reuse the contact instead of upserting it again.
crm_links = Table(
    "crm_links",
    metadata,
    Column("customer_id", Uuid, primary_key=True),
    Column("crm", Text, nullable=False),
    Column("contact_id", Text, nullable=False),
    Column("synced_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# What the CRM has of each history entry (by our event key): an entry is appended at most once even
# when a job is replayed after the CRM accepted it.
history = Table(
    "history",
    metadata,
    Column("key", Text, primary_key=True),
    Column("crm", Text, nullable=False),
    Column("record_id", Text, nullable=False),
    Column("customer_id", Uuid, nullable=True),  # null on rows carried over from v1
    Column("message_id", Uuid, nullable=True, unique=True),
    Column("synced_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The customer as the identity graph last described them (CustomerUpdated): what a contact upsert
# sends. ``merged_into`` sends a merged customer's later history to the survivor's contact.
customers = Table(
    "customers",
    metadata,
    Column("customer_id", Uuid, primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("identities", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("merged_into", Uuid, nullable=True),
    Column("sequence", Integer, nullable=False, server_default=text("0")),
)

# What the CRM told us of a customer (tier, VIP, do-not-contact, owner): the inbound endpoint keeps
# the newest picture and numbers its changes for priority.
crm_contacts = Table(
    "crm_contacts",
    metadata,
    Column("customer_id", Uuid, primary_key=True),
    Column("crm", Text, nullable=False),
    Column("tier", Text, nullable=True),
    Column("vip", Boolean, nullable=False, server_default=text("false")),
    Column("do_not_contact", Boolean, nullable=False, server_default=text("false")),
    Column("owner", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sequence", Integer, nullable=False, server_default=text("0")),
)

# The SLA stage a conversation was last seen in, so a warning or breach webhook fires once per
# stage entered, not once per priority recomputation.
sla_stages = Table(
    "sla_stages",
    metadata,
    Column("conversation_id", Uuid, primary_key=True),
    Column("stage", Text, nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=True),
    Column("sequence", Integer, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("url", Text, nullable=False),
    Column("event_types", ARRAY(Text), nullable=False),
    Column("description", Text, nullable=True),
    # Kept to sign (HMAC needs the key itself); shown once, at creation or rotation, never listed.
    Column("secret", Text, nullable=False),
    # During a rotation the old secret signs too, until ``previous_expires_at``.
    Column("previous_secret", Text, nullable=True),
    Column("previous_expires_at", DateTime(timezone=True), nullable=True),
    Column("status", Text, nullable=False, server_default=text("'active'")),
    Column("disabled_reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('active', 'paused', 'disabled')", name="subscription_status"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("sink", Text, nullable=False),
    Column("lane", Text, nullable=False),
    # Idempotency: a redelivered event inserts nothing new.
    Column("key", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("subscription_id", Uuid, ForeignKey("crm_sync.subscriptions.id", ondelete="CASCADE"),
           nullable=True),
    # The webhook-id header: the same on every retry and redelivery of this job.
    Column("message_id", Text, nullable=True),
    Column("payload", JSONB, nullable=False),
    Column("state", Text, nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_error", Text, nullable=True),
    # Set at the first failure (now + the retry window); a job still failing then is given up.
    # A manual redelivery clears it, so the window starts again.
    Column("retry_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("done_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("sink IN ('crm', 'webhook')", name="job_sink"),
    # failed: given up (retry window over, or refused); stopped: the subscriber said 410 Gone.
    CheckConstraint("state IN ('pending', 'done', 'failed', 'stopped')", name="job_state"),
    Index("jobs_key", "sink", "key", unique=True),
    Index("jobs_pending_lane", "lane", "id", postgresql_where=text("state = 'pending'")),
    # One due row per lane (followers are parked at 'infinity'): taking work stays cheap however
    # long the lanes grow during an outage.
    Index("jobs_pending_due", "sink", "next_attempt_at", "id",
          postgresql_where=text("state = 'pending'")),
    Index("jobs_by_subscription", "subscription_id", "id"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("job_id", BigInteger, ForeignKey("crm_sync.jobs.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("outcome", Text, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Index("attempts_by_job", "job_id", "attempt"),
)

outbox, inbox = messaging_tables(metadata)
