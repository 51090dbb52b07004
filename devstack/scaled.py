"""The scaled topology's backing services: PostgreSQL (the api's database and Rasa's
tracker store) and Redis (Rasa's lock store, the api's live-update hints).

This machine kind runs both (127.0.0.1:5432, 127.0.0.1:6379); devstack does not start
them. It checks they answer, creates the two databases if missing (the api's is then
migrated and seeded by `api.manage.init_db`, Rasa creates its own `events` table), and
derives the Rasa endpoint variables of bot/endpoints.scaled.yml from DATABASE_URL and
REDIS_URL, so one setting moves both the api and Rasa.
"""

import asyncio
import getpass
from urllib.parse import urlsplit

import asyncpg
import redis
from sqlalchemy.engine import URL, make_url

from devstack.config import StackConfig

MAINTENANCE_DATABASE = "postgres"
CONNECT_TIMEOUT_SECONDS = 5


class BackingServiceError(Exception):
    """PostgreSQL or Redis is not usable; the message says which and how to fix it."""


def _pg_url(database_url: str) -> URL:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise BackingServiceError(
            f"the scaled topology needs PostgreSQL (two api processes and Rasa's tracker "
            f"store share it); DATABASE_URL is {url.render_as_string()!r}"
        )
    return url


def _admin_dsn(database_url: str, database: str = MAINTENANCE_DATABASE) -> str:
    url = _pg_url(database_url).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


def database_name(database_url: str) -> str:
    return _pg_url(database_url).database or ""


async def _ensure_database(database_url: str, name: str) -> bool:
    try:
        conn = await asyncpg.connect(_admin_dsn(database_url), timeout=CONNECT_TIMEOUT_SECONDS)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        where = _pg_url(database_url).set(database=MAINTENANCE_DATABASE).render_as_string()
        raise BackingServiceError(
            f"PostgreSQL not reachable at {where}: {exc} — start it or set DATABASE_URL"
        ) from exc
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{_quoted(name)}"')
        except asyncpg.DuplicateDatabaseError:
            return False  # created by someone else meanwhile
        return True
    finally:
        await conn.close()


async def _check_postgres(database_url: str) -> None:
    try:
        conn = await asyncpg.connect(_admin_dsn(database_url), timeout=CONNECT_TIMEOUT_SECONDS)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise BackingServiceError(f"PostgreSQL not reachable: {exc} — start it or set DATABASE_URL") from exc
    await conn.close()


def check_postgres(database_url: str) -> None:
    """The server of `database_url` accepts connections (its maintenance database)."""
    asyncio.run(_check_postgres(database_url))


def ensure_database(database_url: str, name: str | None = None) -> bool:
    """Create `name` (default: the URL's own database) on that server if missing."""
    return asyncio.run(_ensure_database(database_url, name or database_name(database_url)))


async def _drop_database(database_url: str, name: str) -> None:
    conn = await asyncpg.connect(_admin_dsn(database_url), timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{_quoted(name)}" WITH (FORCE)')
    finally:
        await conn.close()


def drop_database(database_url: str, name: str) -> None:
    asyncio.run(_drop_database(database_url, name))


def _quoted(name: str) -> str:
    if not name or '"' in name or "\0" in name:
        raise BackingServiceError(f"unusable database name {name!r}")
    return name


def check_redis(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        raise BackingServiceError(
            f"Redis not reachable at {_redis_parts(redis_url)['host']}:"
            f"{_redis_parts(redis_url)['port']}: {exc} — start it or set REDIS_URL"
        ) from exc
    finally:
        client.close()


def _redis_parts(redis_url: str) -> dict[str, str]:
    parts = urlsplit(redis_url)
    return {"host": parts.hostname or "127.0.0.1", "port": str(parts.port or 6379),
            "password": parts.password or ""}


def prepare(config: StackConfig) -> None:
    """Check PostgreSQL and Redis, create the api's and the tracker's databases if missing."""
    ensure_database(config.database_url)
    ensure_database(config.database_url, config.rasa_tracker_database)
    check_redis(config.redis_url)


def rasa_store_env(config: StackConfig) -> dict[str, str]:
    """The variables bot/endpoints.scaled.yml reads: the tracker store on the api's
    PostgreSQL server (its own database), the lock store on the api's Redis."""
    pg = _pg_url(config.database_url)
    lock = _redis_parts(config.redis_url)
    return {
        "RASA_TRACKER_DB_HOST": pg.host or "127.0.0.1",
        "RASA_TRACKER_DB_PORT": str(pg.port or 5432),
        "RASA_TRACKER_DB_NAME": config.rasa_tracker_database,
        # libpq's own default is the OS user; say it explicitly for Rasa's URL.
        "RASA_TRACKER_DB_USER": pg.username or getpass.getuser(),
        "RASA_TRACKER_DB_PASSWORD": pg.password or "",
        "RASA_LOCK_REDIS_HOST": lock["host"],
        "RASA_LOCK_REDIS_PORT": lock["port"],
        "RASA_LOCK_REDIS_DB": str(config.rasa_lock_store_db),
        "RASA_LOCK_REDIS_PASSWORD": lock["password"],
    }
