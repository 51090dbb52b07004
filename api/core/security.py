"""Secrets compared in constant time; session tokens stored only as hashes."""

import hashlib
import hmac
import secrets


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def id_number_hash(id_number: str, *, salt: str) -> str:
    """HMAC of a normalised ID number; the number itself is never stored."""
    normalised = id_number.strip().upper()
    return hmac.new(salt.encode(), normalised.encode(), hashlib.sha256).hexdigest()
