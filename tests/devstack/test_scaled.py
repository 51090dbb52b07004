"""The scaled topology's process specs (make run-scaled), checked without starting Rasa.

tests/e2e/test_scaled.py runs the same specs for real."""

import os
import re
import sys
from pathlib import Path

import pytest

from devstack.config import ROOT, StackConfig
from devstack.scaled import BackingServiceError, rasa_store_env
from devstack.supervisor import ServiceSpec, Stack, outreach_worker_available, service_specs
from tests.conftest import free_port

MODEL = Path("model-0000.tar.gz")
PG = "postgresql+asyncpg://app:s3cret@db.internal:6543/lender"
REDIS = "redis://:r3dis@cache.internal:6380/0"


def scaled_config(**overrides) -> StackConfig:
    return StackConfig(scaled=True, extra_env={"DATABASE_URL": PG, "REDIS_URL": REDIS}, **overrides)


def by_name(specs: list[ServiceSpec]) -> dict[str, ServiceSpec]:
    return {spec.name: spec for spec in specs}


def test_two_api_processes_each_know_both_rasa_instances_and_redis():
    specs = by_name(service_specs(scaled_config(), model=MODEL))
    assert {"api-1", "api-2", "actions", "rasa-1", "rasa-2"} <= set(specs)
    assert [specs["api-1"].port, specs["api-2"].port, specs["rasa-1"].port, specs["rasa-2"].port] == [
        8000, 8001, 5005, 5006]
    for name in ("api-1", "api-2"):
        env = specs[name].env
        assert env["RASA_URLS"] == "http://127.0.0.1:5005,http://127.0.0.1:5006"
        assert env["REDIS_URL"] == REDIS and env["DATABASE_URL"] == PG
    assert specs["actions"].env["API_URL"] == "http://127.0.0.1:8000"


def test_both_rasa_instances_share_the_tracker_and_lock_stores_derived_from_the_api_settings():
    specs = by_name(service_specs(scaled_config(rasa_tracker_database="tracker_x"), model=MODEL))
    for name in ("rasa-1", "rasa-2"):
        spec = specs[name]
        assert spec.argv[spec.argv.index("--endpoints") + 1] == str(ROOT / "bot" / "endpoints.scaled.yml")
        assert {k: v for k, v in spec.env.items() if k.startswith(("RASA_TRACKER", "RASA_LOCK"))} == {
            "RASA_TRACKER_DB_HOST": "db.internal", "RASA_TRACKER_DB_PORT": "6543",
            "RASA_TRACKER_DB_NAME": "tracker_x", "RASA_TRACKER_DB_USER": "app",
            "RASA_TRACKER_DB_PASSWORD": "s3cret",
            "RASA_LOCK_REDIS_HOST": "cache.internal", "RASA_LOCK_REDIS_PORT": "6380",
            "RASA_LOCK_REDIS_DB": "1", "RASA_LOCK_REDIS_PASSWORD": "r3dis",
        }


def test_endpoints_scaled_reads_only_variables_devstack_sets():
    text = (ROOT / "bot" / "endpoints.scaled.yml").read_text()
    used = set(re.findall(r"\$\{(\w+)\}", text))
    assert used == set(rasa_store_env(scaled_config())) | {"ACTION_SERVER_URL"}
    assert "lock_store" in text and 'dialect: "postgresql"' in text


def test_ports_databases_and_instances_come_from_the_environment(monkeypatch):
    for name, value in {"API_PORT": "9100", "API2_PORT": "9101", "RASA_PORT": "9200",
                        "RASA2_PORT": "9201", "RASA_TRACKER_DATABASE": "rt", "DATABASE_URL": PG,
                        "REDIS_URL": REDIS, "RASA_INSTANCES": "1"}.items():
        monkeypatch.setenv(name, value)
    config = StackConfig.from_env(scaled=True)
    assert config.api_urls == ["http://127.0.0.1:9100", "http://127.0.0.1:9101"]
    assert config.rasa_urls == ["http://127.0.0.1:9200"]  # RASA_INSTANCES=1
    assert (config.database_url, config.redis_url, config.rasa_tracker_database) == (PG, REDIS, "rt")
    names = [spec.name for spec in service_specs(config, model=MODEL)]
    assert "rasa-2" not in names and names.count("rasa-1") == 1


def test_the_scaled_topology_refuses_sqlite():
    config = StackConfig(scaled=True, extra_env={"DATABASE_URL": "sqlite+aiosqlite:///x.db"})
    with pytest.raises(BackingServiceError, match="needs PostgreSQL"):
        service_specs(config, model=MODEL)


def test_the_embedded_default_is_unchanged(tmp_path):
    specs = by_name(service_specs(StackConfig(var_dir=tmp_path), model=MODEL))
    assert set(specs) == {"api", "actions", "rasa"}
    assert specs["api"].env["RASA_URLS"] == ""  # its own Rasa, whatever the shell exports
    rasa = specs["rasa"]
    assert rasa.argv[rasa.argv.index("--endpoints") + 1] == str(ROOT / "bot" / "endpoints.yml")


@pytest.mark.skipif(not outreach_worker_available(), reason="api/outreach/worker.py not there")
def test_the_outreach_worker_runs_beside_and_the_api_leaves_scheduling_to_it():
    specs = by_name(service_specs(scaled_config(), model=MODEL))
    assert specs["outreach"].argv[-2:] == ["-m", "api.outreach.worker"]
    assert specs["outreach"].port is None and specs["outreach"].health_url is None
    assert specs["api-1"].env["OUTREACH_SCHEDULER"] == "external"
    without = by_name(service_specs(scaled_config(outreach_worker=False), model=MODEL))
    assert "outreach" not in without and "OUTREACH_SCHEDULER" not in {
        k for k, v in without["api-1"].env.items() if v == "external"}


def test_a_worker_without_a_port_is_started_and_stopped_with_the_rest(tmp_path):
    worker = ServiceSpec(name="worker", argv=[sys.executable, "-c", "import time; time.sleep(60)"],
                         env=dict(os.environ), health_url=None, port=None)
    stack = Stack(StackConfig(var_dir=tmp_path, api_port=free_port()), [worker])
    with stack:
        assert stack.check_alive() is None
        pid = stack.pids()["worker"]
    assert stack.running == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
