"""Chinese texts of the quotes/agreements domain, kept in texts.zh.yml rather than in code."""

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TEXTS_PATH = Path(__file__).resolve().parent / "texts.zh.yml"


@lru_cache(maxsize=1)
def texts() -> dict[str, Any]:
    with open(TEXTS_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def error_text(name: str) -> str:
    return texts()["errors"][name]


def validation_text(key: str) -> str:
    return texts()["validation"][key]


def reason_text(code: str) -> str:
    return texts()["reasons"][code]


def summary_line(key: str, **values: str) -> str:
    return texts()["summary"][key].format(**values)


def consent_prompt() -> str:
    return texts()["consent_prompt"]


def agreement_copy_heading(*, agreement_no: str) -> str:
    return texts()["agreement_copy"].format(agreement_no=agreement_no)
