"""Alembic environment: async engine, URL from the api settings (or the caller)."""

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from api.core.config import get_settings
from api.compliance.search_index import include_name
from api.models import metadata


def _url() -> str:
    return context.config.attributes.get("database_url") or get_settings().database_url


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # The free-text index (FTS5 tables, pg_trgm index) is not in the ORM metadata.
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
