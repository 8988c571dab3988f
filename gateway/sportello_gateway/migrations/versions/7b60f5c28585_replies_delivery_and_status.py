"""replies, delivery and conversation status

Revision ID: 7b60f5c28585
Revises: da4f7c07f30f
Create Date: 2026-11-24 10:15:00.000000

Written by hand. Every new column is nullable or has a constant server default, so PostgreSQL adds
it without rewriting the table and existing rows read as before: public, no flags, not an agent's
reply, no delivery update yet.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '7b60f5c28585'
down_revision: str | None = 'da4f7c07f30f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('conversations', sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True), schema='gateway')
    op.add_column('conversations', sa.Column('status_sequence', sa.BigInteger(), nullable=True), schema='gateway')

    op.add_column('messages', sa.Column('account', sa.Text(), nullable=True), schema='gateway')
    op.add_column('messages', sa.Column('visibility', sa.Text(), server_default='public', nullable=False), schema='gateway')
    op.add_column('messages', sa.Column('flags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), server_default='[]', nullable=False), schema='gateway')
    op.add_column('messages', sa.Column('agent_reply', sa.Boolean(), server_default='false', nullable=False), schema='gateway')
    op.add_column('messages', sa.Column('agent_id', sa.Text(), nullable=True), schema='gateway')
    op.add_column('messages', sa.Column('delivery_status', sa.Text(), nullable=True), schema='gateway')
    op.add_column('messages', sa.Column('delivery_error', sa.Text(), nullable=True), schema='gateway')
    op.add_column('messages', sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True), schema='gateway')


def downgrade() -> None:
    # Forward-only: dropping the columns would silently lose replies and statuses the read model
    # can only get back by replaying the topics from the start.
    raise NotImplementedError("gateway migration 7b60f5c28585 is forward-only")
