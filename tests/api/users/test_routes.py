"""Staff sign-in (OAuth2 password flow) and /auth/me."""

from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select

from api.audit import service as audit
from api.audit.models import AuditEvent
from api.core.db import utcnow
from api.users.models import Role, User
from api.users.security import TOKEN_AUDIENCE, issue_access_token
from tests.api.users.builders import DEFAULT_PASSWORD, make_user, request_token, user_headers
from tests.conftest import open_chat


async def test_login_returns_a_short_lived_bearer_token(client, session, settings):
    await make_user(session, username="zhao", role=Role.COLLECTOR)

    response = await request_token(client, username="zhao")

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_minutes * 60
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["username"] == "zhao" and me.json()["role"] == "collector"
    assert "password_hash" not in me.text


async def test_username_is_not_case_sensitive(client, session):
    await make_user(session, username="Qian")
    assert (await request_token(client, username="  QIAN ")).status_code == 200


async def test_wrong_password_and_unknown_user_get_the_same_401(client, session):
    await make_user(session, username="sun")

    wrong = await request_token(client, username="sun", password="guess")
    unknown = await request_token(client, username="nobody", password="guess")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {
        "error": "InvalidCredentials",
        "detail": "用户名或密码错误",
    }


async def test_inactive_user_cannot_log_in(client, session):
    await make_user(session, username="li", active=False)

    response = await request_token(client, username="li")

    assert response.status_code == 401
    assert response.json()["error"] == "InvalidCredentials"


async def test_token_of_a_deactivated_user_stops_working(client, session):
    user = await make_user(session, username="zhou")
    headers = await user_headers(client, username="zhou")
    user.active = False
    await session.commit()

    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_expired_token_is_refused(client, session, settings):
    user = await make_user(session, username="wu")
    expired = issue_access_token(
        user_id=user.id,
        secret=settings.auth_secret.get_secret_value(),
        minutes=30,
        now=utcnow() - timedelta(minutes=31),
    )

    response = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {expired.access_token}"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "NotAuthenticated"


@pytest.mark.parametrize("forgery", ["other_secret", "alg_none", "other_audience"])
async def test_forged_tokens_are_refused(client, session, settings, forgery):
    user = await make_user(session, username="zheng")
    claims = {
        "sub": str(user.id),
        "aud": TOKEN_AUDIENCE,
        "iat": utcnow(),
        "exp": utcnow() + timedelta(minutes=5),
    }
    secret = settings.auth_secret.get_secret_value()
    if forgery == "other_secret":
        token = jwt.encode(claims, "x" * 32 + "another-deployment", algorithm="HS256")
    elif forgery == "alg_none":
        token = jwt.encode(claims, None, algorithm="none")
    else:
        token = jwt.encode({**claims, "aud": "something-else"}, secret, algorithm="HS256")

    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_me_needs_a_user_token(client, session, service_headers):
    chat = await open_chat(client)
    for headers in (
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer {chat['session_token']}"},  # borrower session
        service_headers,  # action server
    ):
        response = await client.get("/api/v1/auth/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"] == "NotAuthenticated"


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_can_read_itself(client, session, role):
    await make_user(session, username=f"u-{role}", role=role)
    headers = await user_headers(client, username=f"u-{role}")

    response = await client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 200 and response.json()["role"] == role


async def test_malformed_login_requests_are_422(client):
    for kwargs in (
        {"data": {"username": "zhao"}},
        {"data": {"password": "x"}},
        {"json": {"username": "zhao", "password": "x"}},  # the OAuth2 flow posts a form
    ):
        response = await client.post("/api/v1/auth/token", **kwargs)
        assert response.status_code == 422, kwargs


async def test_oversized_credentials_are_an_ordinary_401(client, session):
    await make_user(session, username="feng")
    for username, password in (("feng", "x" * 5000), ("f" * 500, DEFAULT_PASSWORD)):
        response = await request_token(client, username=username, password=password)
        assert response.status_code == 401


async def test_login_attempts_are_audited_without_the_password(client, session):
    user = await make_user(session, username="chen")
    await request_token(client, username="chen")
    await request_token(client, username="chen", password="wrong-secret-1")
    await request_token(client, username="typed-my-password-here", password="wrong-secret-2")

    events = (await session.scalars(select(AuditEvent).order_by(AuditEvent.seq))).all()
    assert [(e.action, e.actor, e.subject) for e in events] == [
        ("user.created", "system", f"user:{user.id}"),
        ("auth.login", f"user:{user.id}", f"user:{user.id}"),
        ("auth.login_failed", "anonymous", f"user:{user.id}"),
        ("auth.login_failed", "anonymous", "user:unknown"),
    ]
    assert [e.payload.get("reason") for e in events[2:]] == ["wrong_password", "unknown_user"]
    recorded = " ".join(f"{e.actor} {e.subject} {e.payload}" for e in events)
    for secret in (DEFAULT_PASSWORD, "wrong-secret-1", "wrong-secret-2", "typed-my-password-here"):
        assert secret not in recorded
    assert (await audit.verify(session)).ok


async def test_password_is_stored_as_an_argon2id_hash(session):
    user = await make_user(session, username="han")
    stored = await session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored.startswith("$argon2id$") and DEFAULT_PASSWORD not in stored
