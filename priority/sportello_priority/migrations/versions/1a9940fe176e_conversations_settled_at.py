"""conversations: settled_at (the latest response or resolution)

Revision ID: 1a9940fe176e
Revises: 72b448cded81
Create Date: 2026-11-24 11:20:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '1a9940fe176e'
down_revision: str | None = '72b448cded81'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('conversations', sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True), schema='priority')


def downgrade() -> None:
    op.drop_column('conversations', 'settled_at', schema='priority')
