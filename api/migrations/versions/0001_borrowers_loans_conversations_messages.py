"""borrowers, loans, conversations, messages

Revision ID: 0001
Revises: 
Create Date: 2026-11-30 10:30:20.076689
"""

from alembic import op
import sqlalchemy as sa
import api.core.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('borrowers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.String(length=64), nullable=False),
    sa.Column('id_number_hash', sa.String(length=64), nullable=False),
    sa.Column('id_last4', sa.String(length=4), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('phone_masked', sa.String(length=16), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('wechat_openid', sa.String(length=64), nullable=True),
    sa.Column('created_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('id_number_hash'),
    sa.UniqueConstraint('wechat_openid')
    )
    with op.batch_alter_table('borrowers', schema=None) as batch_op:
        batch_op.create_index('ix_borrowers_identity', ['id_last4', 'birth_date'], unique=False)

    op.create_table('conversations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('session_token_hash', sa.String(length=64), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', api.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('verification_failures', sa.Integer(), nullable=False),
    sa.Column('verification_locked_until', api.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('loans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=False),
    sa.Column('contract_no', sa.String(length=32), nullable=False),
    sa.Column('product_name', sa.String(length=64), nullable=False),
    sa.Column('principal_fen', sa.Integer(), nullable=False),
    sa.Column('contract_rate_bp', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('outstanding_principal_fen', sa.Integer(), nullable=False),
    sa.Column('outstanding_interest_fen', sa.Integer(), nullable=False),
    sa.Column('penalty_interest_fen', sa.Integer(), nullable=False),
    sa.Column('fees_fen', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contract_no')
    )
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loans_borrower_id'), ['borrower_id'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('sender', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('template', sa.String(length=64), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_conversation_id'), ['conversation_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_conversation_id'))

    op.drop_table('messages')
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loans_borrower_id'))

    op.drop_table('loans')
    op.drop_table('conversations')
    with op.batch_alter_table('borrowers', schema=None) as batch_op:
        batch_op.drop_index('ix_borrowers_identity')

    op.drop_table('borrowers')
