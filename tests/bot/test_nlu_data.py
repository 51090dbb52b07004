"""The NLU training data is rich enough where it matters and keeps consent unambiguous."""

import re
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))

# COMPLIANCE.md E1-E5: each hands the chat to a human; target recall >= 0.95.
ESCALATION_INTENTS = {
    "dispute_debt",  # E1
    "complain",  # E2
    "request_human",  # E2
    "express_distress",  # E3
    "inform_lawyer_involved",  # E4
    "inform_bereavement",  # E5
}
MIN_ESCALATION_EXAMPLES = 40
MIN_OTHER_EXAMPLES = 25
# D3: vague agreement is not consent; only the explicit word 确认 binds.
NOT_CONSENT = ("好吧", "嗯", "ok", "行吧")

_ENTITY = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def _examples_by_intent() -> dict[str, list[str]]:
    examples: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if "intent" not in item:
                continue
            for line in item["examples"].splitlines():
                if line.strip().startswith("- "):
                    text = _ENTITY.sub(r"\1", line.strip()[2:])
                    examples[item["intent"]].append(text.strip())
    return examples


EXAMPLES = _examples_by_intent()


def test_every_escalation_trigger_is_a_domain_intent():
    assert ESCALATION_INTENTS <= set(DOMAIN["intents"])


def test_every_escalation_trigger_has_at_least_40_examples():
    thin = {i: len(EXAMPLES.get(i, [])) for i in ESCALATION_INTENTS}
    assert all(n >= MIN_ESCALATION_EXAMPLES for n in thin.values()), thin


def test_every_other_domain_intent_has_at_least_25_examples():
    thin = {
        intent: len(EXAMPLES.get(intent, []))
        for intent in DOMAIN["intents"]
        if intent not in ESCALATION_INTENTS
        and len(EXAMPLES.get(intent, [])) < MIN_OTHER_EXAMPLES
    }
    assert not thin, thin


def test_no_example_is_trained_under_two_intents():
    owners: dict[str, set[str]] = defaultdict(set)
    for intent, texts in EXAMPLES.items():
        for text in texts:
            owners[text].add(intent)
    clashes = {text: sorted(intents) for text, intents in owners.items() if len(intents) > 1}
    assert not clashes, clashes


def test_vague_agreement_is_never_a_consent_example():
    consent = EXAMPLES["confirm_agreement"]
    assert consent
    offending = [
        text for text in consent for word in NOT_CONSENT if word in text.lower()
    ]
    assert not offending, offending


def test_every_consent_example_says_queren_and_none_refuses_it():
    consent = EXAMPLES["confirm_agreement"]
    assert all("确认" in text for text in consent), consent
    assert not [text for text in consent if "不确认" in text]


def test_vague_agreement_is_taught_as_affirm():
    assert {"好吧", "嗯", "ok", "行吧"} <= set(EXAMPLES["affirm"])


def test_the_annotated_entities_are_in_the_domain():
    used = set()
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if "intent" in item:
                used |= set(re.findall(r"\]\((\w+)\)", item["examples"]))
    assert used == {"amount", "date_phrase"}
    assert used <= set(DOMAIN["entities"])


def test_choosing_a_plan_is_never_consent():
    # D3: picking "第二个" only selects the plan; the summary and 确认 still follow.
    choices = EXAMPLES["choose_option"]
    assert choices
    assert not [text for text in choices if "确认" in text], choices


def test_a_plan_choice_is_not_an_amount_or_a_date():
    # "选2" / "12期那个" pick a plan; "800块" is inform_affordable_amount, "15号" a date.
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if item.get("intent") == "choose_option":
                assert not _ENTITY.search(item["examples"])
                assert not re.search(r"\d\s*(块|元|号)", item["examples"])
