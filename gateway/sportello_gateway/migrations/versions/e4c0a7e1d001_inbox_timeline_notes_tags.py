"""conversation list filters, timeline, notes and tags

Revision ID: e4c0a7e1d001
Revises: d1549f7eaf02
Create Date: 2026-11-24 17:50:00

Written by hand (part B of issue 7 only; the KPI tables come in e4c0a7e1d002). New columns are
nullable or have a constant default, so PostgreSQL adds them without rewriting the table; the
backfills derive them from what the read model already holds, so no topic needs replaying.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'e4c0a7e1d001'
down_revision: str | None = 'd1549f7eaf02'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VISIBLE = sa.text('opened_at IS NOT NULL')
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.add_column('conversations', sa.Column('team', sa.Text(), nullable=True), schema='gateway')
    op.add_column('conversations', sa.Column('sentiment_label', sa.Text(), nullable=True), schema='gateway')
    op.add_column('conversations', sa.Column('sentiment_score', sa.Double(), nullable=True), schema='gateway')
    op.add_column('conversations', sa.Column('sla_state', sa.Text(), nullable=True), schema='gateway')
    op.add_column('conversations', sa.Column('tags', postgresql.ARRAY(sa.Text()), server_default='{}',
                                             nullable=False), schema='gateway')
    op.add_column('conversations', sa.Column('search_document', postgresql.TSVECTOR(), nullable=True),
                  schema='gateway')

    # Backfills, as the handlers now maintain these columns (same rules; see repository.py).
    op.execute("UPDATE gateway.conversations SET team = agent_team WHERE agent_team IS NOT NULL")
    op.execute("""
        UPDATE gateway.conversations SET sla_state = CASE sla->>'stage'
            WHEN 'on_track' THEN 'ok' WHEN 'halfway' THEN 'ok'
            WHEN 'at_risk' THEN 'at_risk' WHEN 'critical' THEN 'at_risk'
            WHEN 'breached' THEN 'breached' END
        WHERE sla IS NOT NULL""")
    op.execute("""
        UPDATE gateway.conversations c SET (sentiment_label, sentiment_score) = (
            SELECT m.sentiment_label, m.sentiment_score FROM gateway.messages m
            WHERE m.conversation_id = c.id AND m.score IS NOT NULL
            ORDER BY m.sent_at DESC, m.id DESC LIMIT 1)""")
    op.execute("""
        UPDATE gateway.conversations c SET search_document = to_tsvector('simple',
            coalesce(c.customer_display_name, '') || ' ' || left(coalesce(
                (SELECT string_agg(m.text, ' ' ORDER BY m.sent_at, m.id) FROM gateway.messages m
                 WHERE m.conversation_id = c.id AND m.received_at IS NOT NULL), ''), 262144))
        WHERE c.opened_at IS NOT NULL""")

    op.create_index('conversations_inbox_by_team', 'conversations',
                    ['status', 'team', sa.literal_column('priority DESC'), 'opened_at', 'id'],
                    unique=False, schema='gateway', postgresql_where=_VISIBLE)
    op.create_index('conversations_inbox_by_agent', 'conversations',
                    ['status', 'agent_id', sa.literal_column('priority DESC'), 'opened_at', 'id'],
                    unique=False, schema='gateway', postgresql_where=_VISIBLE)
    op.create_index('conversations_inbox_by_sla', 'conversations', ['status', 'sla_deadline', 'id'],
                    unique=False, schema='gateway', postgresql_where=_VISIBLE)
    op.create_index('conversations_inbox_by_activity', 'conversations',
                    ['status', sa.literal_column('last_message_at DESC'), sa.literal_column('id DESC')],
                    unique=False, schema='gateway', postgresql_where=_VISIBLE)
    op.create_index('conversations_tags', 'conversations', ['tags'], unique=False, schema='gateway',
                    postgresql_using='gin', postgresql_where=_VISIBLE)
    op.create_index('conversations_search', 'conversations', ['search_document'], unique=False,
                    schema='gateway', postgresql_using='gin', postgresql_where=_VISIBLE)

    op.create_table(
        'timeline',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('conversation_id', sa.Uuid(), nullable=False),
        sa.Column('kind', sa.Text(), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sequence', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('position', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('message_id', sa.Uuid(), nullable=True),
        sa.Column('detail', _JSON, server_default='{}', nullable=False),
        sa.PrimaryKeyConstraint('id'),
        schema='gateway',
    )
    op.create_index('timeline_conversation_order', 'timeline',
                    ['conversation_id', 'occurred_at', 'sequence', 'position'], unique=False,
                    schema='gateway')
    # The messages already known open their conversations' timelines (keyed by message id, as the
    # handlers do from now on).
    op.execute("""
        INSERT INTO gateway.timeline (id, conversation_id, kind, occurred_at, message_id)
        SELECT id, conversation_id, 'message', sent_at, id FROM gateway.messages
        WHERE received_at IS NOT NULL ORDER BY sent_at, id
        ON CONFLICT (id) DO NOTHING""")


def downgrade() -> None:
    # Forward-only, like 7b60f5c28585: dropping the timeline would lose notes and tag history that
    # exist nowhere else.
    raise NotImplementedError("gateway migration e4c0a7e1d001 is forward-only")
