"""Sign-in contract (OAuth2 password flow) and the current user."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from api.users.models import Role


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int  # seconds


class UserOut(BaseModel):
    """A user as shown to themselves and to admins; never the password hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    created_at: datetime
