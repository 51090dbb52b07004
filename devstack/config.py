"""Where things live and which ports they use; every value overridable by environment."""

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None


# Scaled topology (make run-scaled): what it connects to unless the environment says
# otherwise. PostgreSQL and Redis run on this machine kind; nothing here starts them.
SCALED_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/repayment"
SCALED_REDIS_URL = "redis://127.0.0.1:6379/0"
RASA_TRACKER_DATABASE = "rasa_tracker"
RASA_LOCK_STORE_DB = 1  # Rasa's own default lock database


@dataclass(frozen=True)
class StackConfig:
    host: str = "127.0.0.1"
    api_port: int = 8000
    rasa_port: int = 5005
    actions_port: int = 5055
    var_dir: Path = ROOT / "var"
    models_dir: Path = ROOT / "var" / "models"
    # Extra environment for every child (secrets, DATABASE_URL overrides, ...).
    extra_env: dict[str, str] = field(default_factory=dict)
    # Scaled topology: two api processes, two Rasa instances sharing a PostgreSQL tracker
    # store and a Redis lock store, PostgreSQL for the api, Redis for live-update hints.
    scaled: bool = False
    api2_port: int = 8001
    rasa2_port: int = 5006
    # 2, or 1 to compare (bench/scaled_load.py); the api processes get RASA_URLS of all.
    rasa_instances: int = 2
    # Where the Rasa tracker store lives: this database on the api's PostgreSQL server.
    rasa_tracker_database: str = RASA_TRACKER_DATABASE
    rasa_lock_store_db: int = RASA_LOCK_STORE_DB
    # Also start `python -m api.outreach.worker` (scaled mode only).
    outreach_worker: bool = True

    @classmethod
    def from_env(cls, *, scaled: bool = False) -> "StackConfig":
        return cls(
            host=os.environ.get("HOST", "127.0.0.1"),
            api_port=_env_int("API_PORT", 8000),
            rasa_port=_env_int("RASA_PORT", 5005),
            actions_port=_env_int("ACTIONS_PORT", 5055),
            scaled=scaled,
            api2_port=_env_int("API2_PORT", 8001),
            rasa2_port=_env_int("RASA2_PORT", 5006),
            rasa_instances=min(2, max(1, _env_int("RASA_INSTANCES", 2))),
            rasa_tracker_database=os.environ.get("RASA_TRACKER_DATABASE") or RASA_TRACKER_DATABASE,
            rasa_lock_store_db=_env_int("RASA_LOCK_STORE_DB", RASA_LOCK_STORE_DB),
        )

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def database_url(self) -> str:
        default = SCALED_DATABASE_URL if self.scaled else f"sqlite+aiosqlite:///{self.var_dir / 'app.db'}"
        return self.extra_env.get("DATABASE_URL") or os.environ.get("DATABASE_URL") or default

    @property
    def redis_url(self) -> str:
        """Scaled mode's Redis (live-update hints, Rasa's lock store)."""
        return self.extra_env.get("REDIS_URL") or os.environ.get("REDIS_URL") or SCALED_REDIS_URL

    @property
    def api_ports(self) -> list[int]:
        return [self.api_port, self.api2_port] if self.scaled else [self.api_port]

    @property
    def rasa_ports(self) -> list[int]:
        return [self.rasa_port, self.rasa2_port][: self.rasa_instances] if self.scaled else [self.rasa_port]

    @property
    def api_urls(self) -> list[str]:
        return [f"http://{self.host}:{port}" for port in self.api_ports]

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://{self.host}:{port}" for port in self.rasa_ports]

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://{self.host}:{self.actions_port}"


RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
APP_PYTHON = ROOT / ".venv" / "bin" / "python"
