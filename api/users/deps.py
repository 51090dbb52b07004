"""Who is calling: a signed-in staff user, and whether their role may use a route."""

from typing import Annotated

from fastapi import Depends
from fastapi.params import Depends as DependsMarker
from fastapi.security import OAuth2PasswordBearer

from api.core.deps import SessionDep, SettingsDep
from api.core.errors import NotAuthenticated
from api.users.errors import PermissionDenied
from api.users.models import Role, User
from api.users.security import access_token_user_id

# auto_error=False: a missing token must become our NotAuthenticated body (Chinese
# detail, "error" field) rather than FastAPI's own English 401. The scheme still
# gives the OpenAPI docs their "Authorize" button.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_current_user(
    token: Annotated[str | None, Depends(oauth2_scheme)],
    session: SessionDep,
    settings: SettingsDep,
) -> User:
    """Only a staff access token passes; borrower session tokens and the service token
    are not JWTs signed with the auth secret, so they fail here like garbage does."""
    if not token:
        raise NotAuthenticated()
    user_id = access_token_user_id(token, secret=settings.auth_secret.get_secret_value())
    if user_id is None:
        raise NotAuthenticated()
    # Loaded on every request, so deactivating an account or changing its role takes
    # effect at once instead of when the token expires.
    user = await session.get(User, user_id)
    if user is None or not user.active:
        raise NotAuthenticated()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role) -> DependsMarker:
    """`dependencies=[require_roles(Role.COMPLIANCE, Role.ADMIN)]` on a route or router:
    no valid user token is 401, a user with another role is 403."""
    if not roles:
        raise ValueError("require_roles needs at least one role")
    allowed = frozenset(roles)

    async def _check_role(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise PermissionDenied()
        return user

    return Depends(_check_role)
