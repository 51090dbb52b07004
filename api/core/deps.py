"""Annotated dependencies shared by the routers."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core.config import Settings
from api.core.db import session_scope
from api.core.errors import NotAuthenticated
from api.core.security import same_secret


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    return request.app.state.sessionmaker


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async for session in session_scope(request.app.state.sessionmaker):
        yield session


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
# scope="function": commit (or roll back) when the route returns, *before* the response
# is sent. With the default request scope a client could receive a 201 and send its next
# request before the transaction committed — or receive a 201 for a failed commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def bearer_token(authorization: Annotated[str | None, Header()] = None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated()
    return token


BearerToken = Annotated[str, Depends(bearer_token)]


def require_service_token(token: BearerToken, settings: SettingsDep) -> None:
    """Internal routes are for the action server only."""
    if not same_secret(token, settings.service_token.get_secret_value()):
        raise NotAuthenticated()


# Conversation ids are UUIDs (api.gateway.service.open_session); anything else is a 422
# before it reaches the database (a NUL byte in an id would otherwise be a driver error).
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
ConversationId = Annotated[str, Path(pattern=UUID_PATTERN)]
