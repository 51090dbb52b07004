"""compliance: flags, flag scans, reviews, anonymisations, data requests, and the free-text index over messages

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00.000000

The free-text index (api/compliance/search_index.py):
- SQLite: FTS5 external-content table with the trigram tokenizer plus triggers on
  messages (insert, update of text, delete), then a rebuild for the existing rows.
- PostgreSQL: pg_trgm and a GIN index on messages.text (maintained by PostgreSQL).
"""

from alembic import op
import sqlalchemy as sa
import api.core.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5("
    "text, content='messages', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER messages_fts_au AFTER UPDATE OF text ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
]
SQLITE_FTS_DROP = [
    "DROP TRIGGER IF EXISTS messages_fts_au",
    "DROP TRIGGER IF EXISTS messages_fts_ad",
    "DROP TRIGGER IF EXISTS messages_fts_ai",
    "DROP TABLE IF EXISTS messages_fts",
]


def upgrade() -> None:
    op.create_table(
        'compliance_flags',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.String(length=36), nullable=False),
        sa.Column('rule_id', sa.String(length=8), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('detail', sa.String(length=500), nullable=False),
        sa.Column('occurred_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('computed_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('compliance_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_flags_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_flags_rule_id'), ['rule_id'], unique=False)
    op.create_table(
        'compliance_flag_scans',
        sa.Column('conversation_id', sa.String(length=36), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('computed_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.PrimaryKeyConstraint('conversation_id'),
    )
    op.create_table(
        'compliance_reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.String(length=36), nullable=False),
        sa.Column('reviewer_id', sa.Integer(), nullable=False),
        sa.Column('verdict', sa.String(length=24), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('created_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.ForeignKeyConstraint(['reviewer_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('compliance_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_reviews_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_reviews_verdict'), ['verdict'], unique=False)

    op.create_table(
        'compliance_anonymisations',
        sa.Column('conversation_id', sa.String(length=36), nullable=False),
        sa.Column('last_activity_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('messages', sa.Integer(), nullable=False),
        sa.Column('anonymised_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.PrimaryKeyConstraint('conversation_id'),
    )

    op.create_table(
        'compliance_data_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('borrower_id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.String(length=36), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('created_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('resolved_at', api.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('resolved_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id']),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.ForeignKeyConstraint(['resolved_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('compliance_data_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_data_requests_borrower_id'), ['borrower_id'], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_messages_text_trgm ON messages USING gin (text gin_trgm_ops)"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_FTS_DROP:
            op.execute(statement)
    elif dialect == "postgresql":
        # The extension stays: other objects may use it, and dropping it needs superuser.
        op.execute("DROP INDEX IF EXISTS ix_messages_text_trgm")
    with op.batch_alter_table('compliance_data_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_data_requests_borrower_id'))
    op.drop_table('compliance_data_requests')
    op.drop_table('compliance_anonymisations')
    with op.batch_alter_table('compliance_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_reviews_verdict'))
        batch_op.drop_index(batch_op.f('ix_compliance_reviews_conversation_id'))
    op.drop_table('compliance_reviews')
    op.drop_table('compliance_flag_scans')
    with op.batch_alter_table('compliance_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_flags_rule_id'))
        batch_op.drop_index(batch_op.f('ix_compliance_flags_conversation_id'))
    op.drop_table('compliance_flags')
