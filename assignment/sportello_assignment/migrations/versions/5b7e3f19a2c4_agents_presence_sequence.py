"""agents' presence sequence

Revision ID: 5b7e3f19a2c4
Revises: 9d41c07b2e5a
Create Date: 2026-11-24 21:20:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5b7e3f19a2c4'
down_revision: str | None = '9d41c07b2e5a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The sequence of agent.presence_changed for each agent; 0: nothing announced yet.
    op.add_column('agents', sa.Column('presence_sequence', sa.Integer(), nullable=False,
                                      server_default=sa.text('0')), schema='assignment')


def downgrade() -> None:
    op.drop_column('agents', 'presence_sequence', schema='assignment')
