"""The bot, its actions and its training data agree with each other."""

import re
from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))


def _rule_and_story_steps() -> list[dict]:
    steps = []
    for path in (ROOT / "data").rglob("*.yml"):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in content.get("rules", []) + content.get("stories", []):
            steps.extend(block.get("steps", []))
    return steps


def test_every_custom_action_in_the_domain_is_served_by_the_action_server():
    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(DOMAIN["actions"]) <= set(executor.actions)


def test_every_template_an_action_names_exists():
    from actions.escalation import TRIGGERS
    from actions.negotiation import HARDSHIP_BY_INTENT
    from actions.templates import templates

    used = set()
    for path in (ROOT / "actions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'(?:say|render)\(\s*(?:turn\.dispatcher|dispatcher)?,?\s*"(\w+)"', source))
    # names built at run time
    used |= {f"hardship_{reason}" for reason in HARDSHIP_BY_INTENT.values()}
    used |= {f"option_{kind}" for kind in ("instalment", "extension", "partial_payment", "penalty_waiver")}
    used |= {template for _, template in TRIGGERS.values()}
    assert len(used) > 40
    assert used <= set(templates()), used - set(templates())


def test_rules_only_use_known_intents_and_actions():
    known_actions = set(DOMAIN["actions"]) | set(DOMAIN["responses"])
    for step in _rule_and_story_steps():
        if "intent" in step and step["intent"] != "nlu_fallback":
            assert step["intent"] in DOMAIN["intents"], step
        if "action" in step:
            assert step["action"] in known_actions, step


def test_every_intent_has_training_examples():
    examples: dict[str, int] = {}
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if "intent" in item:
                lines = [l for l in item["examples"].splitlines() if l.strip().startswith("- ")]
                examples[item["intent"]] = examples.get(item["intent"], 0) + len(lines)
    for intent in DOMAIN["intents"]:
        assert examples.get(intent, 0) >= 10, intent
