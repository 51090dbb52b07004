"""outreach: one row per proactive reminder (api/outreach/models.py)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:00:00.000000

source_key is unique: the same reminder can never be created twice, also when two
schedulers run at once (their INSERT ... ON CONFLICT DO NOTHING meets this constraint).
Also an index on conversations.borrower_id: every send looks up the borrower's own
conversations, which was a full scan without it.
Plain tables and indexes only, so the same DDL runs on SQLite and PostgreSQL.
"""

from alembic import op
import sqlalchemy as sa
import api.core.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outreach_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('schedule_item_id', sa.Integer(), nullable=True),
    sa.Column('agreement_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('source_key', sa.String(length=128), nullable=False),
    sa.Column('template_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('not_before', api.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', api.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.String(length=8), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('checked_rules', sa.JSON(), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claim_expires_at', api.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('delivery', sa.String(length=24), nullable=True),
    sa.Column('conversation_id', sa.String(length=36), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('sent_at', api.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], ),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ),
    sa.ForeignKeyConstraint(['schedule_item_id'], ['schedule_items.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_key')
    )
    with op.batch_alter_table('outreach_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outreach_messages_borrower_id'), ['borrower_id'], unique=False)
        batch_op.create_index('ix_outreach_messages_borrower_sent_at', ['borrower_id', 'sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outreach_messages_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outreach_messages_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index('ix_outreach_messages_status_not_before', ['status', 'not_before'], unique=False)
    # Sending looks up a borrower's conversations by borrower_id (api/outreach/models.py).
    op.create_index('ix_conversations_borrower_id', 'conversations', ['borrower_id'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_conversations_borrower_id', table_name='conversations')
    with op.batch_alter_table('outreach_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outreach_messages_status_not_before')
        batch_op.drop_index(batch_op.f('ix_outreach_messages_loan_id'))
        batch_op.drop_index(batch_op.f('ix_outreach_messages_conversation_id'))
        batch_op.drop_index('ix_outreach_messages_borrower_sent_at')
        batch_op.drop_index(batch_op.f('ix_outreach_messages_borrower_id'))

    op.drop_table('outreach_messages')
