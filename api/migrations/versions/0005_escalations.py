"""escalations and conversation state timestamps

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import api.core.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'escalations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.String(length=36), nullable=False),
        sa.Column('reason_code', sa.String(length=32), nullable=False),
        sa.Column('urgency', sa.Integer(), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('created_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('tracker_paused_at', api.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('claimed_by', sa.Integer(), nullable=True),
        sa.Column('claimed_at', api.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('resolved_at', api.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(['claimed_by'], ['users.id']),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalations_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('ix_escalations_queue', ['urgency', 'created_at'], unique=False)
        batch_op.create_index(
            'uq_escalations_open_conversation', ['conversation_id'], unique=True,
            sqlite_where=sa.text('resolved_at IS NULL'),
            postgresql_where=sa.text('resolved_at IS NULL'),
        )

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state_changed_at', api.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('close_outcome', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('close_outcome')
        batch_op.drop_column('state_changed_at')

    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index('uq_escalations_open_conversation')
        batch_op.drop_index('ix_escalations_queue')
        batch_op.drop_index(batch_op.f('ix_escalations_conversation_id'))

    op.drop_table('escalations')
