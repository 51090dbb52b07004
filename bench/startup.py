"""Start-up benchmark: cold install, cold training, warm `make run`, memory per service.

Run with `make bench`. Writes bench/results/startup.json and startup.md. Every figure is
measured in this run on this machine; nothing is estimated.
"""

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.model import ensure_model  # noqa: E402
from tests.conftest import free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BANNER = "Repayment assistant is running."


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return round(time.monotonic() - started, 1)


def cold_install(scratch: Path) -> dict[str, float]:
    """Both venvs into a scratch folder with pip's cache off: downloads included."""
    env = {**os.environ, "VENV_ROOT": str(scratch), "PIP_NO_CACHE_DIR": "1"}
    return {
        kind: timed(["scripts/ensure_venv.sh", kind], env) for kind in ("app", "rasa")
    }


def cold_training(scratch: Path) -> float:
    # A fresh models folder and an empty Rasa training cache: nothing reused.
    env_before = os.environ.get("RASA_CACHE_DIRECTORY")
    os.environ["RASA_CACHE_DIRECTORY"] = str(scratch / "rasa-cache")
    try:
        started = time.monotonic()
        ensure_model(scratch / "models", log_file=scratch / "train.log")
        return round(time.monotonic() - started, 1)
    finally:
        if env_before is None:
            os.environ.pop("RASA_CACHE_DIRECTORY")
        else:
            os.environ["RASA_CACHE_DIRECTORY"] = env_before


def tree_rss_mb(pid: int) -> float:
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return round(total / 2**20, 1)


def service_pids(make_pid: int) -> dict[str, int]:
    """Find api / actions / rasa among the descendants of `make run`."""
    found = {}
    for proc in psutil.Process(make_pid).children(recursive=True):
        cmdline = " ".join(proc.cmdline())
        if "uvicorn" in cmdline and "api.main" in cmdline:
            found.setdefault("api", proc.pid)
        elif "rasa_sdk" in cmdline:
            found.setdefault("actions", proc.pid)
        elif ".venv-rasa" in cmdline and "run" in proc.cmdline()[1:4]:
            found.setdefault("rasa", proc.pid)
    return found


def chat_once(api_url: str) -> None:
    with httpx.Client(base_url=api_url, timeout=60) as http:
        session = http.post("/api/v1/chat/sessions", json={"channel": "web"}).json()
        auth = {"Authorization": f"Bearer {session['session_token']}"}
        url = f"/api/v1/chat/sessions/{session['conversation_id']}/messages"
        for text in ("你好", "我欠多少钱", "张伟 1234 1990-03-07"):
            http.post(url, json={"text": text}, headers=auth).raise_for_status()


def warm_make_run(var_dir: Path) -> dict:
    """Time `make run` (venvs and model already there) until its banner; then Ctrl-C."""
    ports = {"API_PORT": free_port(), "RASA_PORT": free_port(), "ACTIONS_PORT": free_port()}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()},
           "DATABASE_URL": f"sqlite+aiosqlite:///{var_dir / 'bench.db'}"}
    started = time.monotonic()
    proc = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    for line in proc.stdout:
        if BANNER in line:
            break
    else:
        raise SystemExit("make run ended before its banner")
    warm_start = round(time.monotonic() - started, 1)
    pids = service_pids(proc.pid)
    idle = {name: tree_rss_mb(pid) for name, pid in pids.items()}
    chat_once(f"http://127.0.0.1:{ports['API_PORT']}")
    after_chat = {name: tree_rss_mb(pid) for name, pid in pids.items()}
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=60)
    leftovers = [p for p in pids.values() if psutil.pid_exists(p)
                 and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    return {"warm_start_seconds": warm_start, "rss_mb_idle": idle,
            "rss_mb_after_one_conversation": after_chat,
            "exit_code_after_ctrl_c": proc.returncode, "processes_left_after_ctrl_c": len(leftovers)}


def write_markdown(result: dict) -> None:
    install, run = result["cold_install_seconds"], result["make_run"]
    rows = "\n".join(
        f"| {name} | {run['rss_mb_idle'][name]} | {run['rss_mb_after_one_conversation'][name]} |"
        for name in sorted(run["rss_mb_idle"])
    )
    (RESULTS / "startup.md").write_text(
        f"""# Start-up benchmark ({result['measured_at']})

Machine: {result['machine']}; 1-minute load average at start {result['load_average_1m_at_start']:.2f}.
One run; figures measured, not estimated.

| step | seconds |
|---|---|
| cold install `.venv` (pip cache off, downloads included) | {install['app']} |
| cold install `.venv-rasa` (pip cache off, downloads included) | {install['rasa']} |
| cold Rasa training (empty training cache) | {result['cold_training_seconds']} |
| warm `make run` until all services healthy and the banner prints | {run['warm_start_seconds']} |

Resident memory (MiB, each service with its child processes):

| service | idle | after one verified conversation |
|---|---|---|
{rows}

Ctrl-C: `make run` exited with code {run['exit_code_after_ctrl_c']}, processes left: {run['processes_left_after_ctrl_c']}.
""",
        encoding="utf-8",
    )


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    # "Warm" means what a second `make run` meets: venvs and the model already in place.
    ensure_model(ROOT / "var" / "models")
    try:
        result = {
            "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            # Above the core count, other jobs shared the machine: times are upper bounds.
            "load_average_1m_at_start": os.getloadavg()[0],
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                       f"{round(psutil.virtual_memory().total / 2**30)} GiB, Python {platform.python_version()}",
            "cold_install_seconds": cold_install(scratch),
            "cold_training_seconds": cold_training(scratch),
            "make_run": warm_make_run(scratch),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    (RESULTS / "startup.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    write_markdown(result)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
