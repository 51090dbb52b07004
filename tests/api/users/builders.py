"""Builders for staff users and their tokens, shared by the users and audit tests."""

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession

from api.users import security
from api.users.models import Role, User
from api.users.service import create_user

DEFAULT_PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Still argon2id, with test-sized cost: the production profile spends ~0.2 s of CPU
    per hash by design, which would dominate these suites without testing anything more."""
    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


async def make_user(
    session: AsyncSession,
    *,
    username: str | None = None,
    role: Role = Role.COLLECTOR,
    password: str = DEFAULT_PASSWORD,
    active: bool = True,
    display_name: str = "测试用户",
) -> User:
    """Create and commit a user, so the app's own sessions see it."""
    user = await create_user(
        session,
        username=username or f"{role}-user",
        display_name=display_name,
        role=role,
        password=password,
        active=active,
        actor="system",
    )
    await session.commit()
    return user


async def request_token(
    client: httpx.AsyncClient, *, username: str, password: str = DEFAULT_PASSWORD
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )


async def user_headers(
    client: httpx.AsyncClient, *, username: str, password: str = DEFAULT_PASSWORD
) -> dict[str, str]:
    response = await request_token(client, username=username, password=password)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
