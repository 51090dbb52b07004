"""Borrower-facing texts live in api/templates/*.yml, not in code."""

from functools import lru_cache
from pathlib import Path

import yaml

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


@lru_cache
def _load(language: str) -> dict[str, str]:
    with open(TEMPLATE_DIR / f"messages.{language}.yml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def render(name: str, language: str = "zh", **values: str) -> str:
    return _load(language)[name].format(**values)
