"""The dialogue data, checked by Rasa itself: `rasa data validate --fail-on-warnings`, and
every test story predicted exactly (`rasa test core --fail-on-prediction-errors`).

A dialogue-only model is trained into a temporary folder (~15 s); the stories give the
intents, so the NLU model (trained by `make test` for the e2e tests) is not needed here.
"""

import subprocess
from pathlib import Path

import pytest
import yaml

from devstack.config import RASA_BIN, ROOT
from devstack.model import rasa_env

STORIES = ROOT / "tests" / "bot" / "stories"


def rasa(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(RASA_BIN), *args], cwd=cwd, env=rasa_env(), capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def core_model(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("core-model")
    done = rasa(
        "train", "core", "-c", "bot/config.yml", "-d", "bot/domain.yml", "-s", "data",
        "--out", str(out),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return next(out.glob("*.tar.gz"))


def test_data_validates_without_warnings():
    done = rasa(
        "data", "validate", "--domain", "bot/domain.yml", "--data", "data",
        "--config", "bot/config.yml", "--fail-on-warnings",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_there_is_a_story_for_every_flow():
    stories = yaml.safe_load((STORIES / "test_flows.yml").read_text(encoding="utf-8"))["stories"]
    assert len(stories) >= 40
    intents = {step["intent"] for s in stories for step in s["steps"] if "intent" in step}
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
    assert set(domain["intents"]) - intents == set()  # every intent is exercised


def test_every_story_is_predicted_exactly(core_model, tmp_path):
    done = rasa(
        "test", "core", "-m", str(core_model), "--stories", str(STORIES),
        "--fail-on-prediction-errors", "--out", str(tmp_path),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_a_wrong_story_fails_the_check(core_model, tmp_path):
    wrong = tmp_path / "stories"
    wrong.mkdir()
    (wrong / "test_wrong.yml").write_text(
        'version: "3.1"\nstories:\n  - story: a dispute must never get offers\n    steps:\n'
        "      - user: |\n          不是我借的\n        intent: dispute_debt\n"
        "      - action: action_offer_options\n",
        encoding="utf-8",
    )
    done = rasa(
        "test", "core", "-m", str(core_model), "--stories", str(wrong),
        "--fail-on-prediction-errors", "--out", str(tmp_path / "out"),
    )
    assert done.returncode != 0
