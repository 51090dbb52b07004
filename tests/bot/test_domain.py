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


def test_every_response_an_action_utters_exists_in_the_domain():
    used = set()
    for path in (ROOT / "actions").glob("*.py"):
        used |= set(re.findall(r'response="(utter_\w+)"', path.read_text(encoding="utf-8")))
    assert used, "expected the actions to utter domain responses"
    assert used <= set(DOMAIN["responses"])


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
