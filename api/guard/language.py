"""Check a Chinese message against the prohibited-language rules before it is sent.

Why patterns and not a model: a blocked collector draft must say which rule it broke and
where, and the same draft must get the same verdict tomorrow. The patterns live in
`rules.zh.yml` next to this module; this module only normalises text, runs the patterns
and decides whether an assurance ("我们不会联系您的家人") excuses a match.

Matching runs on a normalised copy of the text (NFKC folds full-width to half-width,
Latin is lower-cased, spaces, zero-width characters and filler symbols are dropped), so
"联 系 你 单 位" and "联系你单位" get the same verdict. Spans are mapped back to the
original text so a console can highlight them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

RULES_PATH = Path(__file__).resolve().parent / "rules.zh.yml"

# Sentence ends (after normalisation): a negation cue never reaches across them.
_SENTENCE_END = re.compile(r"[。!?\n]")
_MACRO = re.compile(r"<([a-z_]+)>")


@dataclass(frozen=True)
class Violation:
    """One prohibited passage: which rule, why (Chinese, for the collector), and where."""

    rule_id: str
    category: str
    reason: str
    span: tuple[int, int]  # [start, end) offsets into the text as given
    matched: str  # the original text of that span


@dataclass(frozen=True)
class _Rule:
    rule_id: str
    category: str
    reason: str
    pattern: re.Pattern[str]
    negatable: bool
    unverified_only: bool


@dataclass(frozen=True)
class _Negation:
    window: int
    cues: re.Pattern[str]
    breakers: re.Pattern[str]
    conditions: re.Pattern[str]
    clause_break: re.Pattern[str]


@dataclass(frozen=True)
class _RuleBook:
    strip_chars: frozenset[str]
    negation: _Negation
    rules: tuple[_Rule, ...]


def check_message(text: str, *, party_verified: bool = True) -> list[Violation]:
    """Return every violation in `text`, in order of position; [] means it may be sent.

    `party_verified=False` means the reader has not passed identity verification (or is a
    third party): then any debt detail at all is a P1/P4 violation as well.
    """
    book = _rule_book()
    normalised, offsets = _normalise_with_offsets(text, book.strip_chars)
    found: list[Violation] = []
    for rule in book.rules:
        if rule.unverified_only and party_verified:
            continue
        for match in rule.pattern.finditer(normalised):
            if rule.negatable and _is_excused(normalised, match, book.negation):
                continue
            start, end = offsets[match.start()], offsets[match.end() - 1] + 1
            if not _overlaps_same_category(found, rule.category, start, end):
                found.append(_violation(rule, text, start, end))
    return sorted(found, key=lambda v: v.span)


def _violation(rule: _Rule, text: str, start: int, end: int) -> Violation:
    return Violation(rule.rule_id, rule.category, rule.reason, (start, end), text[start:end])


def normalise(text: str) -> str:
    """The text as the patterns see it (exposed for tests and for writing new patterns)."""
    return _normalise_with_offsets(text, _rule_book().strip_chars)[0]


def _normalise_with_offsets(text: str, strip_chars: frozenset[str]) -> tuple[str, list[int]]:
    """Normalise character by character, remembering each output char's source offset."""
    chars: list[str] = []
    offsets: list[int] = []
    for index, original in enumerate(text):
        for char in unicodedata.normalize("NFKC", original).lower():
            if char != "\n" and _is_dropped(char, strip_chars):
                continue
            chars.append(char)  # a line break is kept: it ends a sentence
            offsets.append(index)
    return "".join(chars), offsets


def _is_dropped(char: str, strip_chars: frozenset[str]) -> bool:
    """Spaces, filler symbols and zero-width/format characters carry no meaning here."""
    return char.isspace() or char in strip_chars or unicodedata.category(char) == "Cf"


def _is_excused(text: str, match: re.Match[str], negation: _Negation) -> bool:
    """An assurance cue shortly before the match, in the same clause, excuses it.

    "我们不会联系您的家人" is excused; "不要以为我们不会联系你单位" (breaker 以为) and
    "我们不会联系你家人，除非你不还" (condition 除非 later in the sentence) are not.
    """
    clause_start = 0
    for brk in negation.clause_break.finditer(text, 0, match.start()):
        clause_start = brk.end()
    window = text[max(clause_start, match.start() - negation.window) : match.start()]
    if not negation.cues.search(window) or negation.breakers.search(window):
        return False
    sentence_end = _SENTENCE_END.search(text, match.end())
    rest = text[match.end() : sentence_end.start() if sentence_end else len(text)]
    return not negation.conditions.search(rest)


def _overlaps_same_category(found: list[Violation], category: str, start: int, end: int) -> bool:
    return any(v.category == category and v.span[0] < end and start < v.span[1] for v in found)


@lru_cache(maxsize=1)
def _rule_book() -> _RuleBook:
    """Load and compile rules.zh.yml once, on first use (never at import)."""
    with open(RULES_PATH, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    macros: dict[str, str] = raw["macros"]

    def compile_(patterns: list[str]) -> re.Pattern[str]:
        expanded = [_expand(p, macros) for p in patterns]
        compiled = re.compile("|".join(f"(?:{p})" for p in expanded))
        if compiled.fullmatch(""):  # would "match" everywhere and span nothing
            raise ValueError(f"guard pattern matches the empty string: {patterns!r}")
        return compiled

    neg = raw["negation"]
    negation = _Negation(
        window=neg["window"],
        cues=compile_(neg["cues"]),
        breakers=compile_(neg["breakers"]),
        conditions=compile_(neg["conditions"]),
        clause_break=compile_(neg["clause_breaks"]),
    )
    rules = tuple(
        _Rule(
            rule_id=entry["rule_id"],
            category=entry["category"],
            reason=entry["reason"],
            pattern=compile_(entry["patterns"]),
            negatable=entry.get("negatable", True),
            unverified_only=entry.get("unverified_only", False),
        )
        for entry in raw["rules"]
    )
    return _RuleBook(frozenset(raw["strip_chars"]), negation, rules)


def _expand(pattern: str, macros: dict[str, str]) -> str:
    """Replace <name> with the macro of that name; macros may use earlier macros."""

    def replace(m: re.Match[str]) -> str:
        if m.group(1) not in macros:
            raise KeyError(f"unknown macro <{m.group(1)}> in guard pattern {pattern!r}")
        return f"(?:{_expand(macros[m.group(1)], macros)})"

    return _MACRO.sub(replace, pattern)
