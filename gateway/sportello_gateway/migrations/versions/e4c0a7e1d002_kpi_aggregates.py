"""KPI aggregates maintained from the events

Revision ID: e4c0a7e1d002
Revises: e4c0a7e1d001
Create Date: 2026-11-24 17:50:00

Written by hand (see sportello_gateway/kpi/tables.py): only the KPI aggregator's tables.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'e4c0a7e1d002'
down_revision: str | None = 'e4c0a7e1d001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'kpi_messages',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('conversation_id', sa.Uuid(), nullable=False),
        sa.Column('known', sa.Boolean(), server_default='false', nullable=False),
        sa.Column('channel', sa.Text(), nullable=True),
        sa.Column('direction', sa.Text(), nullable=True),
        sa.Column('sent_at', _TS, nullable=True),
        sa.Column('agent_reply', sa.Boolean(), server_default='false', nullable=False),
        sa.Column('dispatched_at', _TS, nullable=True),
        sa.Column('failed', sa.Boolean(), server_default='false', nullable=False),
        sa.Column('sentiment_label', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        schema='gateway',
    )
    op.create_index('kpi_messages_conversation', 'kpi_messages', ['conversation_id'],
                    schema='gateway')
    op.create_table(
        'kpi_assignments',
        sa.Column('conversation_id', sa.Uuid(), nullable=False),
        sa.Column('sequence', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.Text(), nullable=False),
        sa.Column('agent_id', sa.Uuid(), nullable=True),
        sa.Column('team', sa.Text(), nullable=True),
        sa.Column('at', _TS, nullable=False),
        sa.PrimaryKeyConstraint('conversation_id', 'sequence'),
        schema='gateway',
    )
    op.create_table(
        'kpi_status_changes',
        sa.Column('conversation_id', sa.Uuid(), nullable=False),
        sa.Column('sequence', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.Text(), nullable=False),
        sa.Column('at', _TS, nullable=False),
        sa.PrimaryKeyConstraint('conversation_id', 'sequence'),
        schema='gateway',
    )
    op.create_table(
        'kpi_conversations',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('customer_id', sa.Uuid(), nullable=True),
        sa.Column('sla_first_response_deadline', _TS, nullable=True),
        sa.Column('sla_first_response_sequence', sa.BigInteger(), nullable=True),
        sa.Column('sla_resolution_deadline', _TS, nullable=True),
        sa.Column('sla_resolution_sequence', sa.BigInteger(), nullable=True),
        sa.Column('csat_score', sa.SmallInteger(), nullable=True),
        sa.Column('csat_comment', sa.Text(), nullable=True),
        sa.Column('csat_at', _TS, nullable=True),
        sa.Column('channel', sa.Text(), nullable=True),
        sa.Column('channel_count', sa.Integer(), server_default='0', nullable=False),
        sa.Column('team', sa.Text(), nullable=True),
        sa.Column('agent_id', sa.Uuid(), nullable=True),
        sa.Column('opened_at', _TS, nullable=True),
        sa.Column('first_inbound_at', _TS, nullable=True),
        sa.Column('first_response_at', _TS, nullable=True),
        sa.Column('first_response_seconds', sa.Double(), nullable=True),
        sa.Column('next_response_at', postgresql.ARRAY(_TS), server_default='{}',
                  nullable=False),
        sa.Column('next_response_seconds', postgresql.ARRAY(sa.Double()), server_default='{}',
                  nullable=False),
        sa.Column('inbound_count', sa.Integer(), server_default='0', nullable=False),
        sa.Column('outbound_count', sa.Integer(), server_default='0', nullable=False),
        sa.Column('status', sa.Text(), server_default='open', nullable=False),
        sa.Column('resolved_at', _TS, nullable=True),
        sa.Column('resolution_seconds', sa.Double(), nullable=True),
        sa.Column('reopen_count', sa.Integer(), server_default='0', nullable=False),
        sa.Column('assignment_count', sa.Integer(), server_default='0', nullable=False),
        sa.Column('handle_seconds', sa.Double(), nullable=True),
        sa.Column('sla_first_response_met', sa.Boolean(), nullable=True),
        sa.Column('sla_resolution_met', sa.Boolean(), nullable=True),
        sa.Column('first_sentiment', sa.Text(), nullable=True),
        sa.Column('last_sentiment', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        schema='gateway',
    )
    op.create_index('kpi_conversations_opened', 'kpi_conversations', ['opened_at'],
                    schema='gateway', postgresql_where=sa.text('opened_at IS NOT NULL'))
    op.create_table(
        'kpi_hourly',
        sa.Column('hour', _TS, nullable=False),
        sa.Column('channel', sa.Text(), nullable=False),
        sa.Column('team', sa.Text(), nullable=False),
        sa.Column('agent_id', sa.Text(), nullable=False),
        sa.Column('measure', sa.Text(), nullable=False),
        sa.Column('bin', sa.SmallInteger(), nullable=False),
        sa.Column('value', sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint('hour', 'channel', 'team', 'agent_id', 'measure', 'bin'),
        schema='gateway',
    )
    op.create_index('kpi_hourly_backlog', 'kpi_hourly', ['hour'], schema='gateway',
                    postgresql_include=['channel', 'team', 'agent_id', 'value'],
                    postgresql_where=sa.text("measure = 'backlog_delta'"))
    op.create_table(
        'kpi_daily',
        sa.Column('grain', sa.Text(), nullable=False),
        sa.Column('day', _TS, nullable=False),
        sa.Column('channel', sa.Text(), nullable=False),
        sa.Column('team', sa.Text(), nullable=False),
        sa.Column('agent_id', sa.Text(), nullable=False),
        sa.Column('measure', sa.Text(), nullable=False),
        sa.Column('bin', sa.SmallInteger(), nullable=False),
        sa.Column('value', sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint('grain', 'day', 'channel', 'team', 'agent_id', 'measure', 'bin'),
        schema='gateway',
    )


def downgrade() -> None:
    op.drop_table('kpi_daily', schema='gateway')
    op.drop_index('kpi_hourly_backlog', table_name='kpi_hourly', schema='gateway')
    op.drop_table('kpi_hourly', schema='gateway')
    op.drop_index('kpi_conversations_opened', table_name='kpi_conversations', schema='gateway')
    op.drop_table('kpi_conversations', schema='gateway')
    op.drop_table('kpi_status_changes', schema='gateway')
    op.drop_table('kpi_assignments', schema='gateway')
    op.drop_index('kpi_messages_conversation', table_name='kpi_messages', schema='gateway')
    op.drop_table('kpi_messages', schema='gateway')
