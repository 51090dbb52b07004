import pytest
from pydantic import ValidationError

from api.core.config import Settings


def test_development_defaults_use_embedded_sqlite():
    settings = Settings(_env_file=None)
    assert settings.database_url.startswith("sqlite+aiosqlite:///")


def test_production_refuses_sqlite_and_placeholder_secrets():
    with pytest.raises(ValidationError) as excinfo:
        Settings(_env_file=None, environment="production")
    message = str(excinfo.value)
    assert "SQLite" in message
    assert "SERVICE_TOKEN" in message
    assert "ID_HASH_SALT" in message
    assert "RASA_TOKEN" in message
    assert "AUTH_SECRET" in message
    assert "WECHAT_TOKEN" in message and "WECHAT_APP_SECRET" in message


def test_production_starts_with_real_secrets_and_postgresql():
    settings = Settings(
        _env_file=None,
        environment="production",
        database_url="postgresql+asyncpg://app@db/app",
        service_token="s" * 32,
        id_hash_salt="t" * 32,
        rasa_token="r" * 32,
        auth_secret="a" * 32,
        wechat_token="w" * 32,
        wechat_app_secret="x" * 32,
    )
    assert settings.environment == "production"


def test_production_refuses_a_short_auth_secret():
    with pytest.raises(ValidationError, match="AUTH_SECRET must be at least 32 bytes"):
        Settings(
            _env_file=None,
            environment="production",
            database_url="postgresql+asyncpg://app@db/app",
            service_token="s" * 32,
            id_hash_salt="t" * 32,
            rasa_token="r" * 32,
            auth_secret="a" * 31,
            wechat_token="w" * 32,
            wechat_app_secret="x" * 32,
        )


def test_access_tokens_default_to_30_minutes_and_must_be_positive():
    assert Settings(_env_file=None).access_token_minutes == 30
    with pytest.raises(ValidationError):
        Settings(_env_file=None, access_token_minutes=0)
