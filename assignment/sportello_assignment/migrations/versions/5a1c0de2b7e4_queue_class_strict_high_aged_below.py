"""queue class: urgent and high strictly first, normal and low together by aged queue deadline

Revision ID: 5a1c0de2b7e4
Revises: 4f754aad3190
Create Date: 2026-11-24 21:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5a1c0de2b7e4'
down_revision: str | None = '4f754aad3190'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_QUEUED = sa.text("status = 'queued'")


def upgrade() -> None:
    op.drop_index('conversations_queue_due', table_name='conversations', schema='assignment',
                  postgresql_where=_QUEUED)
    # The queue class (policy.queue_class): urgent 4, high 3, normal and low share 2.
    op.create_index('conversations_queue_class_due', 'conversations',
                    [sa.literal_column('greatest(band_rank, 2) DESC'), 'queue_deadline',
                     sa.literal_column('band_rank DESC'), 'queued_at', 'id'],
                    unique=False, schema='assignment', postgresql_where=_QUEUED)


def downgrade() -> None:
    op.drop_index('conversations_queue_class_due', table_name='conversations', schema='assignment',
                  postgresql_where=_QUEUED)
    op.create_index('conversations_queue_due', 'conversations',
                    ['queue_deadline', sa.literal_column('band_rank DESC'), 'queued_at', 'id'],
                    unique=False, schema='assignment', postgresql_where=_QUEUED)
