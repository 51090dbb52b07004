"""Staff accounts and sign-in. Every sign-in attempt is an audit event (A1, A2)."""

import asyncio
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.audit import service as audit
from api.audit.models import AuditAction
from api.core.config import Settings
from api.users.errors import InvalidCredentials, UsernameTaken
from api.users.models import Role, User
from api.users.security import (
    IssuedToken,
    dummy_password_hash,
    hash_password,
    issue_access_token,
    needs_rehash,
    verify_password,
)

USERNAME_MAX = 64
# Far above any real password; stops a multi-megabyte "password" from being hashed.
PASSWORD_MAX = 1024


class LoginFailure(StrEnum):
    """Recorded in the audit event only; the client always gets the same 401."""

    UNKNOWN_USER = "unknown_user"
    WRONG_PASSWORD = "wrong_password"
    INACTIVE = "inactive"


def normalise_username(username: str) -> str:
    return username.strip().lower()


def user_actor(user: User) -> str:
    return f"user:{user.id}"


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    actor: str,
    active: bool = True,
) -> User:
    username = normalise_username(username)
    if await session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UsernameTaken()
    # argon2 is deliberately slow (tens of ms of CPU): off the event loop.
    password_hash = await asyncio.to_thread(hash_password, password)
    user = User(
        username=username,
        display_name=display_name,
        role=Role(role),
        password_hash=password_hash,
        active=active,
    )
    session.add(user)
    await session.flush()
    await audit.append(
        session,
        actor=actor,
        action=AuditAction.USER_CREATED,
        subject=f"user:{user.id}",
        payload={"username": username, "role": user.role, "active": active},
    )
    return user


def _password_matches(stored_hash: str | None, password: str) -> bool:
    """Blocking (argon2): run it in a worker thread. An unknown user is checked against
    a dummy hash so that it takes as long as a wrong password."""
    if len(password) > PASSWORD_MAX:
        return False
    return verify_password(stored_hash or dummy_password_hash(), password)


async def _find_user(session: AsyncSession, username: str) -> User | None:
    if not username or len(username) > USERNAME_MAX:
        return None
    return await session.scalar(select(User).where(User.username == username))


def _login_failure(user: User | None, *, password_ok: bool) -> LoginFailure | None:
    if user is None:
        return LoginFailure.UNKNOWN_USER
    if not password_ok:
        return LoginFailure.WRONG_PASSWORD
    if not user.active:
        return LoginFailure.INACTIVE
    return None


async def authenticate(session: AsyncSession, *, username: str, password: str) -> User | None:
    """The user if the credentials are good and the account active, else None.

    Records auth.login or auth.login_failed either way (flush only). The password is
    never recorded, and neither is an unknown username: people type their password into
    the username field, and the audit chain can never be purged.
    """
    user = await _find_user(session, normalise_username(username))
    password_ok = await asyncio.to_thread(
        _password_matches, user.password_hash if user else None, password
    )
    failure = _login_failure(user, password_ok=password_ok)
    if failure is not None:
        await audit.append(
            session,
            actor="anonymous",
            action=AuditAction.AUTH_LOGIN_FAILED,
            subject=f"user:{user.id}" if user else "user:unknown",
            payload={"reason": failure},
        )
        return None
    if needs_rehash(user.password_hash):
        # Hash parameters were raised since this password was set: upgrade it now,
        # the only moment the plain password is at hand.
        user.password_hash = await asyncio.to_thread(hash_password, password)
    await audit.append(
        session,
        actor=user_actor(user),
        action=AuditAction.AUTH_LOGIN,
        subject=f"user:{user.id}",
        payload={"username": user.username},
    )
    return user


async def login(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    username: str,
    password: str,
    settings: Settings,
) -> IssuedToken:
    """Sign in and issue a short-lived access token.

    Runs its own transaction instead of the request's: a failed attempt ends in a 401,
    the request session rolls back on errors, and the auth.login_failed event must
    still be kept.
    """
    async with sessionmaker.begin() as session:
        user = await authenticate(session, username=username, password=password)
        user_id = user.id if user else None
    if user_id is None:
        raise InvalidCredentials()
    return issue_access_token(
        user_id=user_id,
        secret=settings.auth_secret.get_secret_value(),
        minutes=settings.access_token_minutes,
    )
