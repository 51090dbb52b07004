"""Staff sign-in (OAuth2 password flow) and who am I. Mounted at /api/v1/auth."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from api.core.deps import SessionmakerDep, SettingsDep
from api.core.errors import NotAuthenticated, error_response_doc
from api.users import service
from api.users.deps import CurrentUser
from api.users.errors import InvalidCredentials
from api.users.models import User
from api.users.schemas import TokenOut, UserOut

router = APIRouter()


@router.post("/token", response_model=TokenOut, responses=error_response_doc(InvalidCredentials))
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
) -> TokenOut:
    issued = await service.login(
        sessionmaker, username=form.username, password=form.password, settings=settings
    )
    return TokenOut(access_token=issued.access_token, expires_in=issued.expires_in)


@router.get("/me", response_model=UserOut, responses=error_response_doc(NotAuthenticated))
async def read_me(user: CurrentUser) -> User:
    return user
