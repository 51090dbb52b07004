"""wechat channel ids

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:55:52.407037
"""

from alembic import op
import sqlalchemy as sa
import api.core.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_user_id', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_conversations_external_user_id'), ['external_user_id'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel_message_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_messages_channel_message_id', ['channel_message_id'])


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint('uq_messages_channel_message_id', type_='unique')
        batch_op.drop_column('channel_message_id')

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_external_user_id'))
        batch_op.drop_column('external_user_id')

