"""channels: identities, brand accounts, delivery archive, outbound queue

Revision ID: 3f1c0a9d2b47
Revises: 68c810376b97
Create Date: 2026-11-24 10:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '3f1c0a9d2b47'
down_revision: str | None = '68c810376b97'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = 'ingest'
JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    # Customers: identities move to their own table so one customer can own several.
    op.add_column('customers', sa.Column('verified', sa.Boolean(), server_default=sa.text('false'),
                                         nullable=False), schema=S)
    op.add_column('customers', sa.Column('blocked', sa.Boolean(), server_default=sa.text('false'),
                                         nullable=False), schema=S)
    op.add_column('customers', sa.Column('blocked_reason', sa.Text(), nullable=True), schema=S)
    op.create_table(
        'identities',
        sa.Column('platform', sa.Text(), nullable=False),
        sa.Column('external_id', sa.Text(), nullable=False),
        sa.Column('customer_id', sa.Uuid(), nullable=False),
        sa.Column('handle', sa.Text(), nullable=True),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['ingest.customers.id']),
        sa.PrimaryKeyConstraint('platform', 'external_id'),
        schema=S,
    )
    op.create_index('ix_ingest_identities_customer_id', 'identities', ['customer_id'], schema=S)
    op.execute("INSERT INTO ingest.identities (platform, external_id, customer_id, source) "
               "SELECT channel, author_id, id, 'message' FROM ingest.customers")

    # Conversations: one open per customer and brand account; the API channel's account is its name.
    op.add_column('conversations', sa.Column('account', sa.Text(), nullable=True), schema=S)
    op.add_column('conversations', sa.Column('channel', sa.Text(), nullable=True), schema=S)
    op.add_column('conversations', sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
                  schema=S)
    op.add_column('conversations', sa.Column('status_sequence', sa.Integer(), server_default=sa.text('0'),
                                             nullable=False), schema=S)
    op.execute("UPDATE ingest.conversations c SET account = cu.channel, channel = cu.channel "
               "FROM ingest.customers cu WHERE cu.id = c.customer_id")
    op.alter_column('conversations', 'account', nullable=False, schema=S)
    op.alter_column('conversations', 'channel', nullable=False, schema=S)
    op.drop_index('conversations_one_open_per_customer', table_name='conversations', schema=S,
                  postgresql_where=sa.text("status = 'open'"))
    op.create_index('conversations_one_open_per_customer_account', 'conversations',
                    ['customer_id', 'account'], unique=True, schema=S,
                    postgresql_where=sa.text("status = 'open'"))
    op.create_index('conversations_by_customer', 'conversations', ['customer_id', 'last_message_at'],
                    schema=S)
    op.drop_constraint('customers_identity_key', 'customers', schema=S)
    op.drop_column('customers', 'channel', schema=S)
    op.drop_column('customers', 'author_id', schema=S)

    # Messages: brand account, visibility, links, flags, outbound delivery state.
    op.add_column('messages', sa.Column('account', sa.Text(), nullable=True), schema=S)
    op.add_column('messages', sa.Column('visibility', sa.Text(), nullable=True), schema=S)
    op.add_column('messages', sa.Column('linked_message_id', sa.Uuid(), nullable=True), schema=S)
    op.add_column('messages', sa.Column('flags', JSONB, server_default=sa.text("'[]'"), nullable=False),
                  schema=S)
    op.add_column('messages', sa.Column('subject', sa.Text(), nullable=True), schema=S)
    op.add_column('messages', sa.Column('delivery_status', sa.Text(), nullable=True), schema=S)
    op.add_column('messages', sa.Column('delivery_error', sa.Text(), nullable=True), schema=S)
    op.add_column('messages', sa.Column('agent_id', sa.Text(), nullable=True), schema=S)
    op.add_column('messages', sa.Column('template', JSONB, nullable=True), schema=S)
    op.execute("UPDATE ingest.messages SET account = channel, visibility = 'public', "
               "delivery_status = CASE direction WHEN 'inbound' THEN 'received' ELSE 'sent' END")
    for column in ('account', 'visibility', 'delivery_status'):
        op.alter_column('messages', column, nullable=False, schema=S)
    op.alter_column('messages', 'external_id', nullable=True, schema=S)
    op.create_index('ix_ingest_messages_conversation_id', 'messages', ['conversation_id'], schema=S)

    # Raw archive: per webhook request (before parsing), no longer per message.
    op.create_table(
        'deliveries',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('channel', sa.Text(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('content_type', sa.Text(), nullable=False),
        sa.Column('body', sa.LargeBinary(), nullable=False),
        sa.Column('outcome', sa.Text(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        schema=S,
    )
    op.create_index('deliveries_by_time', 'deliveries', ['received_at'], schema=S)
    op.execute("INSERT INTO ingest.deliveries (id, channel, received_at, content_type, body, outcome, "
               "processed_at) SELECT message_id, channel, received_at, 'application/json', "
               "convert_to(payload::text, 'UTF8'), 'accepted', received_at FROM ingest.raw_payloads")
    op.drop_table('raw_payloads', schema=S)

    op.create_table(
        'outbound_queue',
        sa.Column('message_id', sa.Uuid(), nullable=False),
        sa.Column('account', sa.Text(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['message_id'], ['ingest.messages.id']),
        sa.PrimaryKeyConstraint('message_id'),
        schema=S,
    )
    op.create_index('outbound_queue_due', 'outbound_queue', ['next_attempt_at'], schema=S)
    op.create_table(
        'send_pauses',
        sa.Column('account', sa.Text(), nullable=False),
        sa.Column('until', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('account'),
        schema=S,
    )
    op.create_table(
        'private_replies',
        sa.Column('channel', sa.Text(), nullable=False),
        sa.Column('comment_id', sa.Text(), nullable=False),
        sa.Column('message_id', sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint('channel', 'comment_id'),
        schema=S,
    )
    op.create_table(
        'chat_sessions',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('account', sa.Text(), nullable=False),
        sa.Column('visitor_id', sa.Text(), nullable=False),
        sa.Column('display_name', sa.Text(), nullable=False),
        sa.Column('email', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        schema=S,
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only: restore from backup to go back")
