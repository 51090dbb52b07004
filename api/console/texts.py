"""The console's Chinese texts: staff labels (labels.zh.yml beside this module) and the
borrower-facing hand-back greeting (api/templates/console.zh.yml, so the template guard
test in tests/bot/test_template_language.py checks it like every other borrower text)."""

from functools import lru_cache
from pathlib import Path

import yaml

from api.core.templates import TEMPLATE_DIR

LABELS_PATH = Path(__file__).resolve().parent / "labels.zh.yml"
BORROWER_TEXTS_PATH = TEMPLATE_DIR / "console.zh.yml"


@lru_cache(maxsize=1)
def _labels() -> dict:
    return yaml.safe_load(LABELS_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _borrower_texts() -> dict[str, str]:
    return yaml.safe_load(BORROWER_TEXTS_PATH.read_text(encoding="utf-8"))


def reason_label(code: str) -> str:
    return _labels()["reasons"].get(str(code), _labels()["reasons"]["unspecified"])


def urgency_label(urgency: int) -> str:
    return _labels()["urgency"].get(urgency, str(urgency))


def outcome_label(outcome: str) -> str:
    return _labels()["outcomes"].get(str(outcome), str(outcome))


def borrower_text(name: str) -> str:
    return _borrower_texts()[name]
