"""snoozed conversations

Revision ID: 9d41c07b2e5a
Revises: 3f872ae5af6f
Create Date: 2026-11-24 21:10:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '9d41c07b2e5a'
down_revision: str | None = '3f872ae5af6f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # snoozed: an agent parked it (ingest's status); it keeps its owner and holds no slot.
    op.drop_constraint('conversations_status_known', 'conversations', schema='assignment')
    op.create_check_constraint(
        'conversations_status_known', 'conversations',
        "status IN ('queued', 'assigned', 'waiting', 'snoozed', 'bot', 'resolved')",
        schema='assignment')


def downgrade() -> None:
    # Without snooze, the nearest state of a parked conversation: waiting on the customer when it
    # has an owner (kept, holding no slot, as snoozed), else back in the queue.
    op.execute("UPDATE assignment.conversations SET status = 'waiting' "
               "WHERE status = 'snoozed' AND agent_id IS NOT NULL")
    op.execute("UPDATE assignment.conversations SET status = 'queued', queued_at = now() "
               "WHERE status = 'snoozed'")
    op.drop_constraint('conversations_status_known', 'conversations', schema='assignment')
    op.create_check_constraint(
        'conversations_status_known', 'conversations',
        "status IN ('queued', 'assigned', 'waiting', 'bot', 'resolved')", schema='assignment')
