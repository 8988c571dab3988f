"""idempotency keys (POSTs honour Idempotency-Key)

Revision ID: e4c0a7e1d003
Revises: e4c0a7e1d002
Create Date: 2026-11-24 18:55:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'e4c0a7e1d003'
down_revision: str | None = 'e4c0a7e1d002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('principal', sa.Text(), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.Text(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_headers', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('response_body', sa.LargeBinary(), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('principal', 'method', 'path', 'key'),
    schema='gateway'
    )
    op.create_index('idempotency_keys_by_expiry', 'idempotency_keys', ['expires_at'], unique=False,
                    schema='gateway')


def downgrade() -> None:
    op.drop_index('idempotency_keys_by_expiry', table_name='idempotency_keys', schema='gateway')
    op.drop_table('idempotency_keys', schema='gateway')
