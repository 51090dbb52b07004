"""Users service and demo seed."""

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.audit import service as audit
from api.seed import DEMO_USERS, seed_demo_users
from api.users.errors import UsernameTaken
from api.users.models import Role, User
from api.users.service import authenticate, create_user
from tests.api.users.builders import make_user


async def test_demo_users_are_seeded_once_with_one_user_per_role(session):
    assert await seed_demo_users(session) == len(DEMO_USERS)
    await session.commit()
    assert await seed_demo_users(session) == 0
    await session.commit()

    users = (await session.scalars(select(User).order_by(User.id))).all()
    assert {u.role for u in users} == set(Role)
    for demo in DEMO_USERS:
        assert await authenticate(session, username=demo.username, password=demo.password)
    assert (await audit.verify(session)).ok


async def test_duplicate_username_is_refused(session):
    await make_user(session, username="wang")
    with pytest.raises(UsernameTaken):
        await create_user(
            session,
            username="WANG",
            display_name="王",
            role=Role.ADMIN,
            password="another password",
            actor="system",
        )
    assert await session.scalar(select(func.count()).select_from(User)) == 1


async def test_init_db_creates_no_demo_users_in_production(database_url, session):
    if "sqlite" in database_url:
        pytest.skip("production mode refuses SQLite")
    names = ("SERVICE_TOKEN", "ID_HASH_SALT", "RASA_TOKEN", "AUTH_SECRET", "WECHAT_TOKEN", "WECHAT_APP_SECRET")
    secrets = {name: "p" * 40 for name in names}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "api.manage",
        "init-db",
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ, **secrets, "ENVIRONMENT": "production", "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)

    assert process.returncode == 0, output.decode()
    assert await session.scalar(select(func.count()).select_from(User)) == 0
