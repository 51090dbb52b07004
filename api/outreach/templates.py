"""Reminder texts: lender-configurable (OUTREACH_TEMPLATES_PATH), checked when loaded.

A template file that would let a prohibited or revealing reminder out is refused as a
whole, at load time, with the reason: every kind must have a text, only the lender's name
and hotline may be filled in (so no amount or loan detail can be added by editing the
file, P1/P4), and every text — WeChat template fields included — must pass the pre-send
language guard (L1) as rendered.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from api.guard import check_message
from api.outreach.models import OutreachKind

DEFAULT_PATH = Path(__file__).resolve().parent / "templates.zh.yml"
PLACEHOLDERS = frozenset({"lender_legal_name", "lender_hotline"})


class TemplateError(ValueError):
    """The template file cannot be used; the message says why."""


@dataclass(frozen=True)
class Reminder:
    """One rendered reminder: what is stored and shown, and the WeChat template fields."""

    key: str  # template key = the reminder kind
    version: str
    text: str
    wechat_fields: dict[str, str]

    @property
    def template_name(self) -> str:
        """What Message.template records (A1: which template produced the message)."""
        return f"outreach.{self.key}"


@dataclass(frozen=True)
class TemplateBook:
    version: str
    texts: dict[str, str]
    wechat_fields: dict[str, dict[str, str]]

    def render(self, key: str, *, lender_legal_name: str, lender_hotline: str) -> Reminder:
        values = {"lender_legal_name": lender_legal_name, "lender_hotline": lender_hotline}
        return Reminder(
            key=key,
            version=self.version,
            text=self.texts[key].format(**values),
            wechat_fields={name: text.format(**values) for name, text in self.wechat_fields[key].items()},
        )


def templates_path(settings) -> Path:
    return Path(settings.outreach_templates_path) if settings.outreach_templates_path else DEFAULT_PATH


def load_templates(settings) -> TemplateBook:
    """The validated templates for these settings (cached per file and lender)."""
    return _load(str(templates_path(settings)), settings.lender_legal_name, settings.lender_hotline)


@lru_cache(maxsize=8)
def _load(path: str, lender_legal_name: str, lender_hotline: str) -> TemplateBook:
    try:
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read reminder templates {path}: {exc}") from exc
    entries = raw.get("templates") or {}
    missing = sorted(set(OutreachKind) - set(entries))
    if missing:
        raise TemplateError(f"{path}: no template for {', '.join(missing)}")
    book = TemplateBook(
        version=str(raw.get("version") or "unversioned"),
        texts={key: _text(path, key, entry.get("text")) for key, entry in entries.items()},
        wechat_fields={
            key: {name: _text(path, f"{key}.{name}", value) for name, value in (entry.get("wechat_fields") or {}).items()}
            for key, entry in entries.items()
        },
    )
    for key in book.texts:
        _check(path, book.render(key, lender_legal_name=lender_legal_name, lender_hotline=lender_hotline))
    return book


def _text(path: str, where: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TemplateError(f"{path}: {where} must be a non-empty text")
    names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    unknown = sorted(names - PLACEHOLDERS)
    if unknown:
        raise TemplateError(
            f"{path}: {where} uses {', '.join(unknown)}; reminders may only name the lender "
            "and its hotline (no amounts or loan details before verification, P1/P4)"
        )
    return value


def _check(path: str, reminder: Reminder) -> None:
    for where, text in (("text", reminder.text), *reminder.wechat_fields.items()):
        violations = check_message(text)
        if violations:
            first = violations[0]
            raise TemplateError(
                f"{path}: {reminder.key}.{where} refused by the language guard "
                f"({first.rule_id}: {first.reason} — “{first.matched}”)"
            )
