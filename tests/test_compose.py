"""docker-compose.yml is checked statically: no Docker engine runs on these machines."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SECRETS = ("POSTGRES_PASSWORD", "SERVICE_TOKEN", "RASA_TOKEN", "ID_HASH_SALT", "AUTH_SECRET", "WECHAT_TOKEN", "WECHAT_APP_SECRET")


def test_every_service_has_a_health_check():
    for name, service in COMPOSE["services"].items():
        assert "healthcheck" in service, name


def test_every_image_is_pinned_to_a_version():
    for name, service in COMPOSE["services"].items():
        image = service["image"]
        assert re.search(r":\d+\.\d+", image), f"{name}: {image} is not pinned"
    assert COMPOSE["services"]["rasa"]["image"] == "rasa/rasa:3.6.21-full"


def test_no_secret_has_a_default_value():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for secret in SECRETS:
        uses = re.findall(r"\$\{" + secret + r"([^}]*)\}", text)
        assert uses, secret
        # ${VAR:?message} makes compose refuse to start without it; ${VAR:-x} would default.
        assert all(use.startswith(":?") for use in uses), (secret, uses)


def test_api_runs_in_production_mode_on_postgresql():
    env = COMPOSE["services"]["api"]["environment"]
    assert env["ENVIRONMENT"] == "production"
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
