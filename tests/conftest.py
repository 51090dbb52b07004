"""Shared fixtures: a migrated database per test, the app with its lifespan, an http client."""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

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


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """Run the Alembic migrations once; each test gets a copy of the result."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def database_url(migrated_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "test.db"
    shutil.copy(migrated_template, path)
    return f"sqlite+aiosqlite:///{path}"


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
