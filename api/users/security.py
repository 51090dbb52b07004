"""Password hashing (argon2id) and short-lived signed access tokens (JWT, HS256)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.core.db import utcnow

TOKEN_ALGORITHM = "HS256"
# Only staff access tokens carry this audience, so no other JWT signed with the same
# secret in future (e.g. a download link) can be replayed as a login.
TOKEN_AUDIENCE = "repayment-assistant:staff"
# Tolerated clock difference between api replicas (applies to "iat" and "exp").
CLOCK_SKEW_SECONDS = 10

# argon2-cffi's defaults follow RFC 9106's second recommended profile; each hash draws
# its own random salt and records salt and parameters in the hash string.
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@cache
def dummy_password_hash() -> str:
    """Checked against when the username is unknown, so an unknown user costs the same
    time as a wrong password and response timing does not reveal which names exist."""
    return _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int  # seconds


def issue_access_token(
    *, user_id: int, secret: str, minutes: int, now: datetime | None = None
) -> IssuedToken:
    issued_at = now or utcnow()
    claims = {
        "sub": str(user_id),
        "aud": TOKEN_AUDIENCE,
        "iat": issued_at,
        "exp": issued_at + timedelta(minutes=minutes),
    }
    return IssuedToken(
        access_token=jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM),
        expires_in=minutes * 60,
    )


def access_token_user_id(token: str, *, secret: str) -> int | None:
    """The user id a valid, unexpired staff token was issued for; None for anything else
    (borrower session tokens, the service token, tampered or expired tokens)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[TOKEN_ALGORITHM],  # pinned: never trust the token's own "alg"
            audience=TOKEN_AUDIENCE,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["sub", "aud", "iat", "exp"]},
        )
        return int(claims["sub"])
    except (jwt.InvalidTokenError, ValueError):
        return None
