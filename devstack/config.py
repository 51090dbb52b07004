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
        raise SystemExit(f"{name} must be a port number, got {raw!r}") from None


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

    @classmethod
    def from_env(cls) -> "StackConfig":
        return cls(
            host=os.environ.get("HOST", "127.0.0.1"),
            api_port=_env_int("API_PORT", 8000),
            rasa_port=_env_int("RASA_PORT", 5005),
            actions_port=_env_int("ACTIONS_PORT", 5055),
        )

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def database_url(self) -> str:
        return self.extra_env.get("DATABASE_URL") or os.environ.get(
            "DATABASE_URL", f"sqlite+aiosqlite:///{self.var_dir / 'app.db'}"
        )

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
