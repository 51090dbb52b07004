"""The process supervisor behind `make run` and the e2e tests, with small stand-in services."""

import os
import socket
import sys
import time

import psutil
import pytest

from devstack.config import StackConfig
from devstack.supervisor import ServiceSpec, Stack, StartupError
from tests.conftest import free_port

# A tiny HTTP service: answers /health, and forks a grandchild that just sleeps, like
# Sanic's worker processes do.
HEALTHY_SERVICE = """
import http.server, subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def spec(name: str, port: int, code: str, *, timeout: float = 20.0) -> ServiceSpec:
    return ServiceSpec(
        name=name,
        argv=[sys.executable, "-c", code, str(port)],
        env=dict(os.environ),
        health_url=f"http://127.0.0.1:{port}/health",
        port=port,
        startup_timeout=timeout,
    )


@pytest.fixture
def config(tmp_path) -> StackConfig:
    return StackConfig(var_dir=tmp_path)


def test_stop_leaves_no_process_behind_not_even_forked_workers(config):
    stack = Stack(config, [spec("api", free_port(), HEALTHY_SERVICE)])
    stack.start()
    parent = psutil.Process(stack.pids()["api"])
    family = [parent, *parent.children(recursive=True)]
    assert len(family) == 2

    stack.stop()

    time.sleep(0.2)
    assert not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_port_in_use_is_named_with_the_variable_to_change(config):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        stack = Stack(config, [spec("rasa", port, HEALTHY_SERVICE)])
        with pytest.raises(StartupError) as excinfo:
            stack.start()
    assert f"port {port} (rasa) is already in use" in str(excinfo.value)
    assert "RASA_PORT" in str(excinfo.value)
    assert stack.running == []


def test_service_dying_at_start_is_reported_with_its_log_and_others_are_stopped(config):
    healthy = spec("api", free_port(), HEALTHY_SERVICE)
    dying = spec("actions", free_port(), "import sys; print('cannot import actions.broken'); sys.exit(3)")
    stack = Stack(config, [healthy, dying])

    with pytest.raises(StartupError) as excinfo:
        stack.start()

    message = str(excinfo.value)
    assert "actions exited while starting (exit code 3)" in message
    assert "cannot import actions.broken" in message
    assert str(config.log_dir / "actions.log") in message
    assert stack.running == []


def test_service_that_never_becomes_healthy_times_out(config):
    silent = spec("api", free_port(), "import time; print('stuck'); time.sleep(60)", timeout=1.0)
    stack = Stack(config, [silent])
    with pytest.raises(StartupError, match="did not become healthy within 1s"):
        stack.start()
    assert stack.running == []
