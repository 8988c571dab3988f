"""canned responses (saved replies, global or per team)

Revision ID: e4c0a7e1d004
Revises: e4c0a7e1d003
Create Date: 2026-11-24 19:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e4c0a7e1d004'
down_revision: str | None = 'e4c0a7e1d003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('canned_responses',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('shortcut', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('team', sa.Text(), nullable=True),
    sa.Column('language', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    schema='gateway'
    )
    # Shortcuts unique per team and among the global ones (NULL teams never collide in one index).
    op.create_index('canned_responses_team_shortcut', 'canned_responses', ['team', 'shortcut'],
                    unique=True, schema='gateway', postgresql_where=sa.text('team IS NOT NULL'))
    op.create_index('canned_responses_global_shortcut', 'canned_responses', ['shortcut'],
                    unique=True, schema='gateway', postgresql_where=sa.text('team IS NULL'))


def downgrade() -> None:
    op.drop_index('canned_responses_global_shortcut', table_name='canned_responses',
                  schema='gateway')
    op.drop_index('canned_responses_team_shortcut', table_name='canned_responses',
                  schema='gateway')
    op.drop_table('canned_responses', schema='gateway')
