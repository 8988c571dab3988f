"""snooze: a conversation may be parked until a time; it stays the customer's one unresolved
conversation on the account

Revision ID: c5a2e9f1b803
Revises: b67bf92e06fc
Create Date: 2026-11-24 21:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c5a2e9f1b803'
down_revision: str | None = 'b67bf92e06fc'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('conversations', sa.Column('snoozed_until', sa.DateTime(timezone=True), nullable=True),
                  schema='ingest')
    op.drop_index('conversations_one_open_per_customer_account', table_name='conversations',
                  schema='ingest')
    op.create_index('conversations_one_open_per_customer_account', 'conversations',
                    ['customer_id', 'account'], unique=True, schema='ingest',
                    postgresql_where=sa.text("status <> 'resolved'"))
    # The waker's scan: only snoozed rows with a time are in it.
    op.create_index('conversations_snoozed_until', 'conversations', ['snoozed_until'],
                    schema='ingest', postgresql_where=sa.text("status = 'snoozed'"))


def downgrade() -> None:
    op.drop_index('conversations_snoozed_until', table_name='conversations', schema='ingest')
    op.drop_index('conversations_one_open_per_customer_account', table_name='conversations',
                  schema='ingest')
    op.execute("UPDATE ingest.conversations SET status = 'open' WHERE status = 'snoozed'")
    op.create_index('conversations_one_open_per_customer_account', 'conversations',
                    ['customer_id', 'account'], unique=True, schema='ingest',
                    postgresql_where=sa.text("status = 'open'"))
    op.drop_column('conversations', 'snoozed_until', schema='ingest')
