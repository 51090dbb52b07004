"""Settings of the action server process."""

from functools import lru_cache
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ActionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # The api's base URL as seen from the action server.
    api_url: str = "http://127.0.0.1:8000"
    service_token: SecretStr = SecretStr("dev-service-token")
    # Short enough that Rasa answers the gateway in time (the gateway apologises after 5 s).
    api_timeout_seconds: float = 2.0
    api_connect_retries: int = 2  # connection refused/reset: safe to retry any request
    api_timeout_retries: int = 1  # read timeouts: retried for idempotent requests only
    # Logs as in the api (README "Observability"): JSON lines or "text", PII masked.
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


@lru_cache
def get_action_settings() -> ActionSettings:
    return ActionSettings()
