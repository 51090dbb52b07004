#!/usr/bin/env bash
# Create or refresh a virtualenv only when its requirement files changed.
# Usage: scripts/ensure_venv.sh app|rasa
# The stamp inside the venv holds a SHA-256 over the requirement files; a matching
# stamp means nothing to do, so a warm `make run` never reinstalls.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
kind=${1:?usage: ensure_venv.sh app|rasa}

# VENV_ROOT lets the benchmark time a cold install into a scratch folder.
root=${VENV_ROOT:-.}
case "$kind" in
  app)
    venv=$root/.venv
    inputs=(pyproject.toml requirements/app-constraints.txt)
    ;;
  rasa)
    venv=$root/.venv-rasa
    inputs=(requirements/rasa.txt requirements/rasa-constraints.txt)
    ;;
  *) echo "unknown venv kind: $kind" >&2; exit 2 ;;
esac

want=$(cat "${inputs[@]}" scripts/ensure_venv.sh | sha256sum | cut -d' ' -f1)
stamp="$venv/.requirements-sha256"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
  exit 0
fi

# pip, quiet, without the noise of this machine's optional local mirrors.
pip_quiet() {
  "$venv/bin/pip" --disable-pip-version-check --quiet "$@" 2> >(grep -v "is ignored: it is neither" >&2)
}

echo ">> installing $venv (requirements changed or venv missing)"
start=$(date +%s)
"$PYTHON" -m venv "$venv"
pip_quiet install -U pip

if [[ "$kind" == app ]]; then
  # Only the dependencies are installed: the project's own packages are imported from the
  # checkout (processes start in the repo root; pytest sets pythonpath), so no build step.
  "$venv/bin/python" - <<'PY' > "$venv/requirements-from-pyproject.txt"
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["dev"]))
PY
  pip_quiet install -c requirements/app-constraints.txt -r "$venv/requirements-from-pyproject.txt"
else
  # Rasa 3.6.21 declares Requires-Python <3.11 but runs on 3.11 when its
  # dependencies are installed from an explicit, 3.10-evaluated list
  # (see README "Rasa on Python 3.11").
  pip_quiet install \
    --no-deps --ignore-requires-python rasa==3.6.21 rasa-sdk==3.6.2
  pip_quiet install \
    -c requirements/rasa-constraints.txt -r requirements/rasa.txt
fi

echo "$want" > "$stamp"
echo ">> $venv ready in $(( $(date +%s) - start ))s"
