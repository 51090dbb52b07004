"""Every borrower-facing template passes the pre-send language guard (L1-L3, P1-P4).

Templates are written by hand and edited often; this keeps a threat, an insult or a
"先借一笔还上" from reaching a borrower through a template, the same way the guard keeps
it out of collector drafts. Templates are shown to a verified borrower, so debt details
are allowed (verified mode); the few texts sent before verification or to a third party
are also checked in unverified mode. Each template is its own case, named by file and key.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from api.guard import check_message

ROOT = Path(__file__).resolve().parents[2]

# Texts sent before identity verification or to a third party (P1, P2, P4), by key.
_PRE_VERIFICATION_KEYS = {
    "ask_identity",
    "identity_incomplete",
    "identity_not_verified",
    "identity_locked",
    "third_party",
}

# Rasa response keys that are not shown to the borrower.
_NOT_DISPLAYED = {"condition", "channel", "payload", "metadata", "id", "image"}


def _strings(node, path: str) -> Iterator[tuple[str, str]]:
    """Yield (path, text) for every string in a nested YAML value."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in _NOT_DISPLAYED:
                yield from _strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}[{index}]")


def _load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _domain_files() -> list[Path]:
    # The domain may be split by topic into bot/domain/*.yml (CONVENTIONS.md).
    return sorted([ROOT / "bot" / "domain.yml", *(ROOT / "bot" / "domain").rglob("*.yml")])


def _templates() -> list[tuple[str, str]]:
    found = []
    for path in _domain_files():
        if path.exists():
            responses = _load(path).get("responses") or {}
            found += _strings(responses, f"{path.relative_to(ROOT)}:")
    text_files = [
        *sorted((ROOT / "api" / "templates").glob("*.yml")),
        ROOT / "api" / "agreements" / "texts.zh.yml",
        ROOT / "api" / "offers" / "texts.zh.yml",
        # what the custom actions say (the bot's texts moved here from domain responses)
        *sorted((ROOT / "actions").glob("templates*.yml")),
    ]
    for path in text_files:
        found += _strings(_load(path), f"{path.relative_to(ROOT)}:")
    return [(name.replace(":.", ":"), text) for name, text in found]


TEMPLATES = _templates()
PRE_VERIFICATION = [
    (name, text) for name, text in TEMPLATES if name.split(":")[1] in _PRE_VERIFICATION_KEYS
]


def test_templates_were_found():
    names = [name for name, _ in TEMPLATES]
    assert any(name.startswith("bot/domain") for name in names)
    assert any(name.startswith("api/templates/") for name in names)
    assert any(name.startswith("api/agreements/") for name in names)
    assert any(name.startswith("api/offers/") for name in names)


@pytest.mark.parametrize(("name", "text"), TEMPLATES, ids=[name for name, _ in TEMPLATES])
def test_template_passes_the_language_guard(name, text):
    violations = check_message(text, party_verified=True)
    assert violations == [], [(v.rule_id, v.category, v.matched, v.reason) for v in violations]


@pytest.mark.parametrize(
    ("name", "text"), PRE_VERIFICATION, ids=[name for name, _ in PRE_VERIFICATION]
)
def test_pre_verification_template_reveals_no_debt_detail(name, text):
    violations = check_message(text, party_verified=False)
    assert violations == [], [(v.rule_id, v.category, v.matched, v.reason) for v in violations]
