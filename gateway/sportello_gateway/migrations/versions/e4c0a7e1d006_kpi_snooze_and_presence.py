"""KPIs: agents' presence changes (online time, utilisation) and a running-figures index that
also covers the snoozed conversations

Revision ID: e4c0a7e1d006
Revises: e4c0a7e1d005
Create Date: 2026-11-24 21:30:00

Written by hand (see sportello_gateway/kpi/tables.py). kpi_status_changes.status is free text (no
check constraint), so "snoozed" needs no change there.
"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = 'e4c0a7e1d006'
down_revision: str | None = 'e4c0a7e1d005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def _presence_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column('agent_id', sa.Uuid(), nullable=False),
        sa.Column('sequence', sa.BigInteger(), nullable=False),
        sa.Column('presence', sa.Text(), nullable=False),
        sa.Column('capacity', sa.Integer(), nullable=False),
        sa.Column('team', sa.Text(), nullable=False),
        sa.Column('at', _TS, nullable=False),
    ]


def upgrade() -> None:
    op.create_table('kpi_agent_presence', *_presence_columns(),
                    sa.PrimaryKeyConstraint('agent_id', 'sequence'), schema='gateway')
    op.create_table('kpi_agents', *_presence_columns(),
                    sa.PrimaryKeyConstraint('agent_id'), schema='gateway')
    op.drop_index('kpi_hourly_backlog', table_name='kpi_hourly', schema='gateway')
    op.create_index('kpi_hourly_running', 'kpi_hourly', ['hour'], schema='gateway',
                    postgresql_include=['channel', 'team', 'agent_id', 'measure', 'value'],
                    postgresql_where=sa.text("measure IN ('backlog_delta', 'snoozed_delta')"))


def downgrade() -> None:
    op.drop_index('kpi_hourly_running', table_name='kpi_hourly', schema='gateway')
    op.create_index('kpi_hourly_backlog', 'kpi_hourly', ['hour'], schema='gateway',
                    postgresql_include=['channel', 'team', 'agent_id', 'value'],
                    postgresql_where=sa.text("measure = 'backlog_delta'"))
    op.drop_table('kpi_agents', schema='gateway')
    op.drop_table('kpi_agent_presence', schema='gateway')
