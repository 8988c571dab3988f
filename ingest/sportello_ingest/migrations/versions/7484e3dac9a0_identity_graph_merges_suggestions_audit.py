"""identity graph: merges, suggestions, audit

Revision ID: 7484e3dac9a0
Revises: 3f1c0a9d2b47
Create Date: 2026-11-24 14:37:45.572069
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '7484e3dac9a0'
down_revision: str | None = '3f1c0a9d2b47'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = 'ingest'
JSONB = postgresql.JSONB(astext_type=sa.Text())
AUDIT_ACTIONS = ('linked', 'unlinked', 'merged', 'merged_into', 'unmerged', 'suggestion_created',
                 'suggestion_accepted', 'suggestion_rejected', 'auto_merge_refused')


def upgrade() -> None:
    # Identities: every existing one was seen as an author, learnt from a platform or linked by hand as
    # trusted, so they are all verified; claimed ones come from now on.
    op.add_column('identities', sa.Column('verified', sa.Boolean(), server_default=sa.text('true'),
                                          nullable=False), schema=S)
    op.create_index('identities_by_handle', 'identities', [sa.literal_column("lower(ltrim(handle, '@'))")],
                    schema=S, postgresql_where=sa.text('handle IS NOT NULL'))
    op.create_index('identities_claimed_by_address', 'identities', [sa.literal_column('lower(external_id)')],
                    schema=S, postgresql_where=sa.text('NOT verified'))

    # Customers: merged ones point at their survivor; a per-customer sequence orders their events.
    op.add_column('customers', sa.Column('merged_into', sa.Uuid(), nullable=True), schema=S)
    op.add_column('customers', sa.Column('sequence', sa.Integer(), server_default=sa.text('0'),
                                         nullable=False), schema=S)
    op.create_foreign_key('customers_merged_into_fkey', 'customers', 'customers', ['merged_into'], ['id'],
                          source_schema=S, referent_schema=S)
    op.create_check_constraint('customers_not_merged_into_self', 'customers',
                               'merged_into IS NULL OR merged_into <> id', schema=S)
    op.create_index('customers_by_survivor', 'customers', ['merged_into'], schema=S,
                    postgresql_where=sa.text('merged_into IS NOT NULL'))

    op.create_table(
        'merges',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('survivor_id', sa.Uuid(), nullable=False),
        sa.Column('merged_id', sa.Uuid(), nullable=False),
        sa.Column('automatic', sa.Boolean(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('actor', sa.Text(), nullable=False),
        sa.Column('identities_moved', JSONB, server_default=sa.text("'[]'"), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('undone_by', sa.Text(), nullable=True),
        sa.CheckConstraint('survivor_id <> merged_id', name='merges_not_into_self'),
        sa.ForeignKeyConstraint(['merged_id'], ['ingest.customers.id']),
        sa.ForeignKeyConstraint(['survivor_id'], ['ingest.customers.id']),
        sa.PrimaryKeyConstraint('id'),
        schema=S,
    )
    op.create_index('ix_ingest_merges_merged_id', 'merges', ['merged_id'], schema=S)
    op.create_index('ix_ingest_merges_survivor_id', 'merges', ['survivor_id'], schema=S)

    op.create_table(
        'merge_suggestions',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('customer_id', sa.Uuid(), nullable=False),
        sa.Column('other_customer_id', sa.Uuid(), nullable=False),
        sa.Column('evidence', JSONB, nullable=False),
        sa.Column('status', sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('decided_by', sa.Text(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('merge_id', sa.Uuid(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'accepted', 'rejected')", name='merge_suggestions_status'),
        sa.CheckConstraint('customer_id <> other_customer_id', name='merge_suggestions_two_customers'),
        sa.ForeignKeyConstraint(['customer_id'], ['ingest.customers.id']),
        sa.ForeignKeyConstraint(['merge_id'], ['ingest.merges.id']),
        sa.ForeignKeyConstraint(['other_customer_id'], ['ingest.customers.id']),
        sa.PrimaryKeyConstraint('id'),
        schema=S,
    )
    op.create_index('ix_ingest_merge_suggestions_customer_id', 'merge_suggestions', ['customer_id'], schema=S)
    op.create_index('ix_ingest_merge_suggestions_other_customer_id', 'merge_suggestions',
                    ['other_customer_id'], schema=S)
    op.create_index('merge_suggestions_one_pending_per_pair', 'merge_suggestions',
                    [sa.literal_column('least(customer_id, other_customer_id)'),
                     sa.literal_column('greatest(customer_id, other_customer_id)')],
                    unique=True, schema=S, postgresql_where=sa.text("status = 'pending'"))

    op.create_table(
        'customer_audit',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('customer_id', sa.Uuid(), nullable=False),
        sa.Column('action', sa.Text(), nullable=False),
        sa.Column('actor', sa.Text(), nullable=False),
        sa.Column('detail', JSONB, server_default=sa.text("'{}'"), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('action IN (' + ', '.join(f"'{a}'" for a in AUDIT_ACTIONS) + ')',
                           name='customer_audit_action'),
        sa.ForeignKeyConstraint(['customer_id'], ['ingest.customers.id']),
        sa.PrimaryKeyConstraint('id'),
        schema=S,
    )
    op.create_index('customer_audit_by_customer', 'customer_audit', ['customer_id', 'at'], schema=S)


def downgrade() -> None:
    raise NotImplementedError("forward-only: restore from backup to go back")
