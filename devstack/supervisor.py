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


PORT_VARIABLES = {"api": "API_PORT", "actions": "ACTIONS_PORT", "rasa": "RASA_PORT"}


class StartupError(Exception):
    """A service could not start; the message says which and shows its log's tail."""


@dataclass
class ServiceSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    health_url: str
    port: int
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


def service_specs(config: StackConfig, *, model: Path) -> list[ServiceSpec]:
    base = {**os.environ, **config.extra_env}
    rasa_token = base.get("RASA_TOKEN", "dev-rasa-token")
    tracker_db = config.var_dir / "rasa" / "tracker.db"
    tracker_db.parent.mkdir(parents=True, exist_ok=True)
    return [
        ServiceSpec(
            name="api",
            argv=[
                str(APP_PYTHON), "-m", "uvicorn", "api.main:create_app", "--factory",
                "--host", config.host, "--port", str(config.api_port), "--no-access-log",
                # Open chat streams would otherwise hold shutdown until SIGKILL, skipping
                # the WeChat drain: give them 3 s, then close them.
                "--timeout-graceful-shutdown", "3",
            ],
            env={
                **base,
                "DATABASE_URL": config.database_url,
                "RASA_URL": config.rasa_url,
                "RASA_TOKEN": rasa_token,
            },
            health_url=f"{config.api_url}/health",
            port=config.api_port,
        ),
        ServiceSpec(
            name="actions",
            argv=[str(APP_PYTHON), "-m", "rasa_sdk", "--actions", "actions",
                  "--port", str(config.actions_port)],
            env={**base, "API_URL": config.api_url, "SANIC_HOST": config.host},
            health_url=f"{config.actions_url}/health",
            port=config.actions_port,
        ),
        ServiceSpec(
            name="rasa",
            argv=[
                str(RASA_BIN), "run", "--enable-api", "--auth-token", rasa_token,
                "--model", str(model),
                "--endpoints", str(ROOT / "bot" / "endpoints.yml"),
                "--credentials", str(ROOT / "bot" / "credentials.yml"),
                "--interface", config.host, "--port", str(config.rasa_port),
            ],
            env={
                **rasa_env(),
                **config.extra_env,
                "ACTION_SERVER_URL": f"{config.actions_url}/webhook",
                "RASA_TRACKER_DB": str(tracker_db),
            },
            # /status answers only once the model is loaded.
            health_url=f"{config.rasa_url}/status?token={rasa_token}",
            warm_up=(f"{config.rasa_url}/model/parse?token={rasa_token}", {"text": "你好"}),
            port=config.rasa_port,
            startup_timeout=180.0,
        ),
    ]


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
        busy = [s for s in self.specs if port_in_use(self.config.host, s.port)]
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
                    if _healthy(http, svc.spec.health_url):
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
