"""0008 (outreach) is reversible: down to 0007 removes exactly what it added."""

import asyncio

from alembic import command
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from tests.api.test_migrations import _alembic


async def _schema(database_url: str) -> tuple[set[str], set[str]]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: (
                set(inspect(sync).get_table_names()),
                {i["name"] for i in inspect(sync).get_indexes("conversations")},
            ))
    finally:
        await engine.dispose()


def test_the_outreach_migration_downgrades_and_upgrades_again(database_url):
    config = _alembic(database_url)
    command.downgrade(config, "0007")
    tables, indexes = asyncio.run(_schema(database_url))
    assert "outreach_messages" not in tables and "ix_conversations_borrower_id" not in indexes
    assert "conversations" in tables

    command.upgrade(config, "head")
    tables, indexes = asyncio.run(_schema(database_url))
    assert "outreach_messages" in tables and "ix_conversations_borrower_id" in indexes
