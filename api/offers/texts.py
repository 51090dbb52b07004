"""Chinese texts of the offers domain, kept in texts.zh.yml rather than in code."""

from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

from api.offers.codes import HardshipReason, OptionKind, ReasonCode, Refusal

TEXTS_PATH = Path(__file__).resolve().parent / "texts.zh.yml"


@lru_cache(maxsize=1)
def _texts() -> dict[str, dict[str, str]]:
    with open(TEXTS_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def option_name(kind: OptionKind) -> str:
    return _texts()["option_names"][kind.value]


def hardship_reason_name(reason: HardshipReason) -> str:
    return _texts()["hardship_reasons"][reason.value]


def reason_text(refusal: Refusal) -> str:
    return _texts()["reasons"][refusal.code.value].format(**refusal.values)


def reason_codes_without_text() -> set[ReasonCode]:
    return {code for code in ReasonCode if code.value not in _texts()["reasons"]}


def format_bp(bp: int) -> str:
    """2400 -> '24.00%' (integer arithmetic, like format_fen)."""
    whole, hundredths = divmod(bp, 100)  # 100 bp = 1 %
    return f"{whole}.{hundredths:02d}%"


def format_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
