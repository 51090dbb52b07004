"""docker-compose.yml is checked statically: no Docker engine runs on these machines.
`make run-scaled` (tests/e2e/test_scaled.py) runs the same topology without containers."""

import re
from pathlib import Path

import pytest
import yaml

from api.core.config import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
SECRETS = (
    "POSTGRES_PASSWORD", "REDIS_PASSWORD", "SERVICE_TOKEN", "RASA_TOKEN", "ID_HASH_SALT",
    "AUTH_SECRET", "METRICS_TOKEN", "WECHAT_TOKEN", "WECHAT_APP_SECRET",
)
RASA_SERVICES = sorted(name for name in SERVICES if name.startswith("rasa-"))


def _substituted(value: str, env: dict[str, str]) -> str:
    """What compose would pass for ${VAR...} given `env` (enough for these checks)."""
    return re.sub(r"\$\{(\w+)[^}]*\}", lambda m: env.get(m.group(1), ""), value)


def test_every_service_has_a_health_check():
    for name, service in SERVICES.items():
        assert "test" in service.get("healthcheck", {}), name


def test_every_image_is_pinned_to_a_version():
    for name, service in SERVICES.items():
        image = service["image"]
        assert re.search(r":\d+\.\d+", image), f"{name}: {image} is not pinned"
    assert {SERVICES[name]["image"] for name in RASA_SERVICES} == {"rasa/rasa:3.6.21-full"}


def test_no_secret_has_a_default_value():
    for secret in SECRETS:
        uses = re.findall(r"\$\{" + secret + r"([^}]*)\}", COMPOSE_TEXT)
        assert uses, secret
        # ${VAR:?message} makes compose refuse to start without it; ${VAR:-x} would default.
        assert all(use.startswith(":?") for use in uses), (secret, uses)


def test_every_variable_compose_reads_is_documented_in_env_example():
    documented = set(re.findall(r"^(\w+)=", (ROOT / ".env.example").read_text(), re.M))
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_TEXT))
    assert used - documented == set()


def test_every_dependency_names_a_service():
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, (name, dependency)


def test_api_environment_is_a_valid_production_configuration():
    """The api's environment, with every secret filled in, passes the production checks
    (no SQLite, no placeholder secrets) and names only settings that exist."""
    secrets = {name: f"{name.lower()}-" + "x" * 40 for name in SECRETS}
    env = {key: _substituted(str(value), secrets) for key, value in SERVICES["api"]["environment"].items()}
    unknown = {key for key in env if key.lower() not in Settings.model_fields} - {"API_URL"}
    assert unknown == set()
    settings = Settings(_env_file=None, **{key.lower(): value for key, value in env.items() if key != "API_URL"})
    assert settings.environment == "production"
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.redis_url.startswith("redis://")
    assert settings.outreach_scheduler == "external"


def test_the_api_scales_and_reaches_every_rasa_instance():
    assert SERVICES["api"]["deploy"]["replicas"] >= 2
    assert len(RASA_SERVICES) >= 2
    urls = SERVICES["api"]["environment"]["RASA_URLS"].split(",")
    assert sorted(re.match(r"http://([\w-]+):5005$", url).group(1) for url in urls) == RASA_SERVICES


@pytest.mark.parametrize("name", RASA_SERVICES)
def test_rasa_instances_share_the_tracker_and_lock_stores(name):
    service = SERVICES[name]
    command = service["command"]
    endpoints_file = command[command.index("--endpoints") + 1]
    assert endpoints_file == "bot/endpoints.scaled.yml"
    endpoints = yaml.safe_load((ROOT / endpoints_file).read_text(encoding="utf-8"))
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    assert endpoints["lock_store"]["type"] == "redis"
    # Every ${VAR} the endpoints file reads is set for the container.
    wanted = set(re.findall(r"\$\{(\w+)\}", (ROOT / endpoints_file).read_text(encoding="utf-8")))
    assert wanted - set(service["environment"]) == set()
    assert service["environment"]["RASA_TRACKER_DB_HOST"] == "postgres"
    assert service["environment"]["RASA_LOCK_REDIS_HOST"] == "redis"


def test_the_tracker_database_is_created_with_the_cluster():
    init_dir = next(
        volume.split(":")[0] for volume in SERVICES["postgres"]["volumes"]
        if "docker-entrypoint-initdb.d" in volume
    )
    sql = "".join(path.read_text() for path in sorted((ROOT / init_dir).glob("*.sql")))
    tracker_db = SERVICES[RASA_SERVICES[0]]["environment"]["RASA_TRACKER_DB_NAME"]
    assert re.search(rf"CREATE DATABASE {tracker_db}\b", sql)


def test_reminders_are_sent_by_the_worker_not_the_api_replicas():
    assert SERVICES["api"]["environment"]["OUTREACH_SCHEDULER"] == "external"
    assert SERVICES["outreach-worker"]["command"][:3] == ["python", "-m", "api.outreach.worker"]
