"""The Alembic migrations build exactly the schema the ORM models describe."""

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from api.compliance.search_index import include_name
from api.manage import ALEMBIC_INI
from api.models import metadata


async def test_migrations_match_the_models(database_url):
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync, opts={"compare_type": True, "include_name": include_name}
                    ),
                    metadata,
                )
            )
    finally:
        await engine.dispose()
    assert diff == []


def _alembic(database_url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    return config


async def _tables_and_columns(database_url: str) -> tuple[set[str], set[str]]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: (
                    set(inspect(sync).get_table_names()),
                    {c["name"] for c in inspect(sync).get_columns("conversations")},
                )
            )
    finally:
        await engine.dispose()


def test_escalations_migration_downgrades_and_upgrades_again(database_url):
    """0005 (escalations) is reversible: down to 0004 removes exactly what it added."""
    config = _alembic(database_url)
    command.downgrade(config, "0004")
    tables, columns = asyncio.run(_tables_and_columns(database_url))
    assert "escalations" not in tables
    assert {"state_changed_at", "close_outcome"}.isdisjoint(columns)

    command.upgrade(config, "head")
    tables, columns = asyncio.run(_tables_and_columns(database_url))
    assert "escalations" in tables
    assert {"state_changed_at", "close_outcome"} <= columns
