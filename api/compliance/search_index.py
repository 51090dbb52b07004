"""The free-text index over messages.text, which the ORM metadata does not describe.

- SQLite: an external-content FTS5 table `messages_fts` with the `trigram` tokenizer
  (SQLite >= 3.34), kept in sync by triggers on `messages` created in migration 0007, so
  no write path (gateway, console, retention job, a manual fix) can forget to index.
- PostgreSQL: a GIN index with `gin_trgm_ops` (pg_trgm) on messages.text; PostgreSQL
  maintains it itself. Chinese characters are word characters under a UTF-8 ctype, so
  every three consecutive characters form a trigram.

Alembic's autogenerate and the schema test must not mistake these for drift:
`include_name` hides them from the comparison.
"""

FTS_TABLE = "messages_fts"
TRGM_INDEX = "ix_messages_text_trgm"
# The FTS5 virtual table and the shadow tables SQLite creates for it.
_FTS_TABLES = {FTS_TABLE} | {f"{FTS_TABLE}_{s}" for s in ("data", "idx", "docsize", "config", "content")}


def include_name(name: str | None, type_: str, parent_names) -> bool:
    if type_ == "table" and name in _FTS_TABLES:
        return False
    if type_ == "index" and name == TRGM_INDEX:
        return False
    return True
