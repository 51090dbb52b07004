"""Train the Rasa model only when its inputs changed (content hash = model name)."""

import fcntl
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devstack.config import RASA_BIN, ROOT

# What a trained model depends on. endpoints.yml / credentials.yml are runtime wiring
# and deliberately left out, so changing a port never forces a retrain.
MODEL_INPUTS = [
    ROOT / "bot" / "config.yml",
    ROOT / "bot" / "domain.yml",
    ROOT / "data",
    ROOT / "requirements" / "rasa.txt",
]


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    return [path] if path.exists() else []


def model_fingerprint(inputs: list[Path] = MODEL_INPUTS, root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for top in inputs:
        for file in _files(top):
            digest.update(str(file.relative_to(root)).encode())
            digest.update(b"\0")
            digest.update(file.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path(models_dir: Path) -> Path:
    return models_dir / f"model-{model_fingerprint()}.tar.gz"


def rasa_env() -> dict[str, str]:
    env = dict(os.environ)
    env["RASA_TELEMETRY_ENABLED"] = "false"  # no outbound network
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def ensure_model(models_dir: Path, *, log_file: Path | None = None) -> Path:
    """Return the model for the current bot/ and data/, training it if it is missing.

    Several processes may ask at once (parallel test runs, `make run` next to a test):
    one trains under a lock, the others wait and reuse its model. Training writes into a
    scratch folder and the model is renamed into place, so nobody loads half a file.
    """
    target = model_path(models_dir)
    if target.exists():
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    with open(models_dir / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():  # trained by whoever held the lock before us
            return target
        _train(target, log_file=log_file)
    return target


def _train(target: Path, *, log_file: Path | None) -> None:
    print(f">> training Rasa model {target.name} (bot/ or data/ changed)", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".training-") as scratch:
        cmd = [
            str(RASA_BIN), "train",
            "--config", str(ROOT / "bot" / "config.yml"),
            "--domain", str(ROOT / "bot" / "domain.yml"),
            "--data", str(ROOT / "data"),
            "--out", scratch,
            "--fixed-model-name", target.name.removesuffix(".tar.gz"),
        ]
        out = open(log_file, "w") if log_file else None
        try:
            result = subprocess.run(
                cmd, cwd=ROOT, env=rasa_env(), stdout=out or sys.stdout, stderr=subprocess.STDOUT
            )
        finally:
            if out:
                out.close()
        trained = Path(scratch) / target.name
        if result.returncode != 0 or not trained.exists():
            where = f" (see {log_file})" if log_file else ""
            raise SystemExit(f"Rasa training failed with exit code {result.returncode}{where}")
        os.replace(trained, target)
    elapsed = time.monotonic() - started
    (target.parent / "last-training-seconds.txt").write_text(f"{elapsed:.1f}\n")
    print(f">> model trained in {elapsed:.0f}s", flush=True)
