"""Start api, action server and Rasa as child processes; stop them all, always."""

import os
import signal
import socket
import subprocess
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import httpx

from devstack.config import APP_PYTHON, RASA_BIN, ROOT, StackConfig
from devstack.model import rasa_env


PORT_VARIABLES = {
    "api": "API_PORT", "actions": "ACTIONS_PORT", "rasa": "RASA_PORT",
    # Scaled topology (service_specs with config.scaled).
    "api-1": "API_PORT", "api-2": "API2_PORT", "rasa-1": "RASA_PORT", "rasa-2": "RASA2_PORT",
}
# Two Rasa processes load TensorFlow at once on two cores: give them longer.
RASA_STARTUP_SECONDS = 180.0
SCALED_RASA_STARTUP_SECONDS = 300.0


class StartupError(Exception):
    """A service could not start; the message says which and shows its log's tail."""


@dataclass
class ServiceSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    # None: a worker without an HTTP side (no port), healthy while it runs.
    health_url: str | None
    port: int | None
    startup_timeout: float = 60.0
    # POSTed once (with this JSON) after the service is healthy, so the first real request
    # does not pay for lazy initialisation. Rasa's first parse builds its TensorFlow graph
    # and can take seconds, long enough for the gateway's 5 s answer deadline.
    warm_up: tuple[str, dict] | None = None


@dataclass
class RunningService:
    spec: ServiceSpec
    process: subprocess.Popen
    log_path: Path


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines))
    except FileNotFoundError:
        return "(no log written)"


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def api_spec(config: StackConfig, *, name: str, port: int, env: dict[str, str]) -> ServiceSpec:
    url = f"http://{config.host}:{port}"
    return ServiceSpec(
        name=name,
        argv=[
            str(APP_PYTHON), "-m", "uvicorn", "api.main:create_app", "--factory",
            "--host", config.host, "--port", str(port), "--no-access-log",
            # Open chat streams would otherwise hold shutdown until SIGKILL, skipping
            # the WeChat drain: give them 3 s, then close them.
            "--timeout-graceful-shutdown", "3",
        ],
        env=env,
        health_url=f"{url}/health",
        port=port,
    )


def _actions_spec(config: StackConfig, base: dict[str, str]) -> ServiceSpec:
    return ServiceSpec(
        name="actions",
        argv=[str(APP_PYTHON), "-m", "rasa_sdk", "--actions", "actions",
              "--port", str(config.actions_port)],
        env={**base, "API_URL": config.api_url, "SANIC_HOST": config.host},
        health_url=f"{config.actions_url}/health",
        port=config.actions_port,
    )


def _rasa_spec(
    config: StackConfig, *, name: str, port: int, model: Path, token: str, endpoints: Path,
    env: dict[str, str], startup_timeout: float,
) -> ServiceSpec:
    url = f"http://{config.host}:{port}"
    return ServiceSpec(
        name=name,
        argv=[
            str(RASA_BIN), "run", "--enable-api", "--auth-token", token,
            "--model", str(model),
            "--endpoints", str(endpoints),
            "--credentials", str(ROOT / "bot" / "credentials.yml"),
            "--interface", config.host, "--port", str(port),
        ],
        env={
            **rasa_env(),
            **config.extra_env,
            "ACTION_SERVER_URL": f"{config.actions_url}/webhook",
            **env,
        },
        # /status answers only once the model is loaded.
        health_url=f"{url}/status?token={token}",
        warm_up=(f"{url}/model/parse?token={token}", {"text": "你好"}),
        port=port,
        startup_timeout=startup_timeout,
    )


def service_specs(config: StackConfig, *, model: Path) -> list[ServiceSpec]:
    if config.scaled:
        return scaled_service_specs(config, model=model)
    base = {**os.environ, **config.extra_env}
    rasa_token = base.get("RASA_TOKEN", "dev-rasa-token")
    tracker_db = config.var_dir / "rasa" / "tracker.db"
    tracker_db.parent.mkdir(parents=True, exist_ok=True)
    return [
        api_spec(config, name="api", port=config.api_port, env={
            **base,
            "DATABASE_URL": config.database_url,
            "RASA_URL": config.rasa_url,
            "RASA_URLS": "",  # this stack's one Rasa, whatever the shell exports
            "RASA_TOKEN": rasa_token,
        }),
        _actions_spec(config, base),
        _rasa_spec(
            config, name="rasa", port=config.rasa_port, model=model, token=rasa_token,
            endpoints=ROOT / "bot" / "endpoints.yml", env={"RASA_TRACKER_DB": str(tracker_db)},
            startup_timeout=RASA_STARTUP_SECONDS,
        ),
    ]


def outreach_worker_available() -> bool:
    return (ROOT / "api" / "outreach" / "worker.py").exists()


def scaled_service_specs(config: StackConfig, *, model: Path) -> list[ServiceSpec]:
    """Two api processes, one action server, two Rasa instances (shared PostgreSQL tracker
    store, Redis lock store), an outreach worker. PostgreSQL and Redis must be up and the
    databases prepared (devstack.scaled.prepare)."""
    from devstack.scaled import rasa_store_env

    base = {**os.environ, **config.extra_env}
    rasa_token = base.get("RASA_TOKEN", "dev-rasa-token")
    worker = config.outreach_worker and outreach_worker_available()
    api_env = {
        **base,
        "DATABASE_URL": config.database_url,
        "RASA_URL": config.rasa_urls[0],
        "RASA_URLS": ",".join(config.rasa_urls),
        "RASA_TOKEN": rasa_token,
        "REDIS_URL": config.redis_url,
    }
    if worker:
        api_env["OUTREACH_SCHEDULER"] = "external"  # the worker process does it
    specs = [
        api_spec(config, name=f"api-{n}", port=port, env=api_env)
        for n, port in enumerate(config.api_ports, start=1)
    ]
    specs.append(_actions_spec(config, base))
    # Which instance served what: the api's assistant_rasa_requests_total{instance}. Not
    # Sanic's access log (LOG_LEVEL_LIBRARIES=INFO): its lines quote the auth token, which
    # Rasa takes as a query parameter.
    store_env = rasa_store_env(config)
    specs += [
        _rasa_spec(
            config, name=f"rasa-{n}", port=port, model=model, token=rasa_token,
            endpoints=ROOT / "bot" / "endpoints.scaled.yml", env=store_env,
            startup_timeout=SCALED_RASA_STARTUP_SECONDS,
        )
        for n, port in enumerate(config.rasa_ports, start=1)
    ]
    if worker:
        specs.append(ServiceSpec(
            name="outreach",
            argv=[str(APP_PYTHON), "-m", "api.outreach.worker"],
            env={**api_env, "OUTREACH_SCHEDULER": "external"},
            health_url=None,
            port=None,
        ))
    return specs


class Stack:
    """The three services. Use as a context manager so they are always stopped."""

    def __init__(self, config: StackConfig, specs: list[ServiceSpec]) -> None:
        self.config = config
        self.specs = specs
        self.running: list[RunningService] = []

    def __enter__(self) -> "Stack":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def pids(self) -> dict[str, int]:
        return {svc.spec.name: svc.process.pid for svc in self.running}

    def start(self) -> None:
        busy = [s for s in self.specs if s.port is not None and port_in_use(self.config.host, s.port)]
        if busy:
            raise StartupError(
                "; ".join(
                    f"port {s.port} ({s.name}) is already in use — stop what holds it or set "
                    f"{PORT_VARIABLES.get(s.name, 'its port')}"
                    for s in busy
                )
            )
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for spec in self.specs:
                self._spawn(spec)
            self._wait_healthy()
            self._warm_up()
        except BaseException:
            self.stop()
            raise

    def _spawn(self, spec: ServiceSpec) -> None:
        log_path = self.config.log_dir / f"{spec.name}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                spec.argv,
                cwd=ROOT,
                env=spec.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Own process group: Ctrl-C reaches only the supervisor, which then
                # stops each service (and any worker it forked) in order.
                start_new_session=True,
            )
        self.running.append(RunningService(spec, process, log_path))

    def _wait_healthy(self) -> None:
        pending = list(self.running)
        started = time.monotonic()
        with httpx.Client(timeout=2.0) as http:
            while pending:
                for svc in list(pending):
                    code = svc.process.poll()
                    if code is not None:
                        raise StartupError(
                            f"{svc.spec.name} exited while starting (exit code {code}). "
                            f"Last lines of {svc.log_path}:\n{log_tail(svc.log_path)}"
                        )
                    if svc.spec.health_url is None or _healthy(http, svc.spec.health_url):
                        pending.remove(svc)
                    elif time.monotonic() - started > svc.spec.startup_timeout:
                        raise StartupError(
                            f"{svc.spec.name} did not become healthy within "
                            f"{svc.spec.startup_timeout:.0f}s. Last lines of "
                            f"{svc.log_path}:\n{log_tail(svc.log_path)}"
                        )
                if pending:
                    time.sleep(0.3)

    def _warm_up(self) -> None:
        with httpx.Client(timeout=60.0) as http:
            for svc in self.running:
                if svc.spec.warm_up is not None:
                    url, body = svc.spec.warm_up
                    # Best effort: a failure here shows up on the first real request anyway.
                    try:
                        http.post(url, json=body)
                    except httpx.HTTPError:
                        pass

    def check_alive(self) -> RunningService | None:
        """The first service that has died, if any."""
        return next((s for s in self.running if s.process.poll() is not None), None)

    def stop(self, timeout: float = 15.0) -> None:
        for svc in reversed(self.running):
            _signal_group(svc.process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for svc in self.running:
            try:
                svc.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(svc.process, signal.SIGKILL)
                svc.process.wait()
            # Workers forked by a service (Sanic's) share its group: make sure none stays.
            _signal_group(svc.process, signal.SIGKILL)
        self.running.clear()


def _healthy(http: httpx.Client, url: str) -> bool:
    try:
        return http.get(url).status_code == 200
    except httpx.HTTPError:
        return False


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
