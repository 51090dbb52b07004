"""Settings of the action server process."""

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ActionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # The api's base URL as seen from the action server.
    api_url: str = "http://127.0.0.1:8000"
    service_token: SecretStr = SecretStr("dev-service-token")
    api_timeout_seconds: float = 10.0


@lru_cache
def get_action_settings() -> ActionSettings:
    return ActionSettings()
