"""Deterministic self-harm tripwire (E3), run before the NLU classifier.

A statistical classifier may miss a phrasing it was not trained on; for distress that
miss is the one error we cannot afford. So every borrower text in bot state is first
matched against a fixed phrase list (tripwire.zh.yml). The list errs on the side of
safety: a false alarm only brings a person into the chat sooner.

Normalisation defeats the cheap evasions and input quirks: full-width characters
(NFKC), spaces, zero-width characters and punctuation inserted between characters.
"""

import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml

PHRASES_FILE = Path(__file__).resolve().parent / "tripwire.zh.yml"

# Format characters that render as nothing (ZWSP, ZWNJ, ZWJ, LRM/RLM, word joiner, BOM,
# soft hyphen) are category Cf and dropped with the other non-letters below.
_DROPPED_CATEGORIES = ("Z", "P", "S", "C")


def normalise(text: str) -> str:
    """NFKC, lower case, and only letters and digits kept (no spaces, punctuation,
    symbols, emoji or invisible characters)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(
        ch for ch in folded if not unicodedata.category(ch).startswith(_DROPPED_CATEGORIES)
    )


@lru_cache
def phrases() -> tuple[str, ...]:
    with open(PHRASES_FILE, encoding="utf-8") as fh:
        listed = yaml.safe_load(fh)["phrases"]
    normalised = {normalise(p) for p in listed}
    if "" in normalised:
        raise ValueError(f"{PHRASES_FILE.name}: a phrase normalises to nothing")
    # Longest first, so the reported match is the most specific one.
    return tuple(sorted(normalised, key=lambda p: (-len(p), p)))


def match(text: str) -> str | None:
    """The listed phrase found in `text`, or None."""
    normalised = normalise(text)
    return next((p for p in phrases() if p in normalised), None)
