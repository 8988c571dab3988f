"""snoozed conversations: when they open again by themselves

Revision ID: e4c0a7e1d005
Revises: e4c0a7e1d004
Create Date: 2026-11-24 21:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e4c0a7e1d005'
down_revision: str | None = 'e4c0a7e1d004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('conversations', sa.Column('snoozed_until', sa.DateTime(timezone=True),
                                             nullable=True), schema='gateway')


def downgrade() -> None:
    op.drop_column('conversations', 'snoozed_until', schema='gateway')
