"""Shared fixtures: a migrated database per test, the app with its lifespan, an http client."""

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.config import Settings
from api.core.db import make_engine, make_sessionmaker
from api.main import create_app
from api.manage import migrate
from api.seed import seed_demo

TEST_SALT = "test-salt"
SERVICE_TOKEN = "test-service-token"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# PostgreSQL runs on 127.0.0.1:5432 on this machine kind (trust auth).
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def _pg_admin(sql: str) -> None:
    dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")

    async def run() -> None:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def _pg_url(database: str) -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """Run the Alembic migrations once; each test gets a copy of the result."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated template database; each test gets CREATE DATABASE … TEMPLATE of it."""
    name = f"ra_template_{os.getpid()}"
    try:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
        _pg_admin(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("CI"):
            raise  # CI machines serve PostgreSQL: its absence is a failure there
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    migrate(_pg_url(name))
    yield name
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> Iterator[str]:
    """Every database-backed test runs on the embedded default and on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    name = f"ra_test_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _pg_url(name)
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url: str) -> Settings:
    # rasa_url points at a port nothing listens on: these tests see Rasa as down.
    # The live Rasa path is covered end to end in tests/e2e.
    return Settings(
        database_url=database_url,
        service_token=SERVICE_TOKEN,
        id_hash_salt=TEST_SALT,
        rasa_url=f"http://127.0.0.1:{free_port()}",
        rasa_timeout_seconds=2.0,
        lender_legal_name="测试普惠小额贷款有限公司",
        lender_hotline="400-123-4567",
        # No reminder pass may run behind a test's back; outreach tests drive the worker.
        outreach_scheduler="off",
    )


@pytest.fixture
async def app(settings: Settings):
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def session(app) -> AsyncIterator[AsyncSession]:
    async with app.state.sessionmaker() as db_session:
        yield db_session


@pytest.fixture
async def seeded(app) -> None:
    async with app.state.sessionmaker.begin() as db_session:
        await seed_demo(db_session, id_hash_salt=TEST_SALT)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api.test"
    ) as http:
        yield http


@pytest.fixture
def service_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}"}


async def open_chat(client: httpx.AsyncClient) -> dict:
    response = await client.post("/api/v1/chat/sessions", json={"channel": "web"})
    assert response.status_code == 201, response.text
    return response.json()
