"""The pre-send language guard blocks prohibited drafts and lets ordinary messages through.

The two data files are the guard's contract: every prohibited draft is blocked under the
rule it breaks, and no acceptable message is blocked. Add a phrasing there when a real
draft slips through or a real message is wrongly blocked.
"""

from pathlib import Path

import pytest
import yaml

from api.guard import Violation, check_message, normalise
from api.guard.language import RULES_PATH

DATA = Path(__file__).resolve().parent / "data"


def _load(name: str) -> list[dict]:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


PROHIBITED = _load("prohibited.yml")
ACCEPTABLE = _load("acceptable.yml")


def _summary(violations: list[Violation]) -> list[tuple[str, str, str]]:
    return [(v.rule_id, v.category, v.matched) for v in violations]


def test_the_data_sets_are_large_enough_to_mean_something():
    assert len(PROHIBITED) >= 60
    assert len(ACCEPTABLE) >= 60


def test_every_rule_in_the_rule_file_has_prohibited_examples():
    rules = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))["rules"]
    in_rule_file = {(r["rule_id"], r["category"]) for r in rules}
    assert in_rule_file == {(c["rule_id"], c["category"]) for c in PROHIBITED}


@pytest.mark.parametrize("case", PROHIBITED, ids=[c["text"] for c in PROHIBITED])
def test_prohibited_draft_is_blocked_under_its_rule(case):
    violations = check_message(case["text"], party_verified=case.get("party_verified", True))
    assert (case["rule_id"], case["category"]) in {(v.rule_id, v.category) for v in violations}, (
        _summary(violations)
    )


@pytest.mark.parametrize("case", ACCEPTABLE, ids=[c["text"] for c in ACCEPTABLE])
def test_acceptable_message_is_not_blocked(case):
    violations = check_message(case["text"], party_verified=case.get("party_verified", True))
    assert violations == [], _summary(violations)


# --- normalisation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("联 系 你 单 位", "联系你单位"),
        ("联\u3000系\t你\n单位", "联系你\n单位"),  # ideographic space and tab go, a line break stays
        ("联\u200b系\u200d你\ufeff单位", "联系你单位"),  # zero-width characters
        ("ＳＢ，ＡＢＣ１２３", "sb,abc123"),  # full-width letters, digits, punctuation
        ("￥３，２５０．００", "¥3,250.00"),
        ("联*系·你_单~位", "联系你单位"),  # filler symbols used to dodge filters
    ],
)
def test_text_is_normalised_before_matching(raw, normalised):
    assert normalise(raw) == normalised


@pytest.mark.parametrize("text", ["联系你单位", "联 系 你 单 位", "联系\u200b你单位", "联-系-你-单-位"])
def test_spaced_or_disguised_wording_gets_the_same_verdict(text):
    assert [v.category for v in check_message(text)] == ["workplace_family_threat"]


def test_span_points_into_the_original_text():
    text = "您好，今天不还就 联 系 你 单 位。"
    [violation] = check_message(text)
    assert violation.matched == "联 系 你 单 位"
    assert text[violation.span[0] : violation.span[1]] == violation.matched


def test_each_violation_carries_a_chinese_reason_for_the_collector():
    [violation] = check_message("你这个老赖")
    assert violation.rule_id == "L1"
    assert "侮辱" in violation.reason


def test_several_rules_are_reported_in_text_order():
    violations = check_message("必须今天全额还清，否则联系你单位，再告你上法庭。")
    assert [v.rule_id for v in violations] == ["L3", "P3", "L2"]


# --- assurances (negation) -------------------------------------------------------------


def test_assurance_excuses_a_mention_but_not_a_later_threat_in_the_same_sentence():
    assert check_message("我们不会联系您的家人。") == []
    violations = check_message("我们不会联系您的家人，但会联系您的单位。")
    assert [v.matched for v in violations] == ["联系您的单位"]


def test_a_condition_after_the_assurance_turns_it_into_a_threat():
    assert check_message("我们不会联系你家人，除非你不还。")


def test_a_negated_threat_phrase_is_still_a_threat():
    assert [v.category for v in check_message("我们绝不会放过你。")] == ["threat_violence"]


def test_an_insult_is_never_excused_by_a_negation():
    assert [v.category for v in check_message("我们不会说你是老赖。")] == ["insult"]


# --- unverified party (P1, P4) ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["逾期 5 天", "您目前共需还款 ¥3,250.00", "还欠两千块", "您的贷款下周到期", "本期罚息已产生"],
)
def test_debt_detail_is_allowed_for_a_verified_borrower_and_blocked_otherwise(text):
    assert check_message(text, party_verified=True) == []
    violations = check_message(text, party_verified=False)
    assert violations
    assert {(v.rule_id, v.category) for v in violations} == {("P1", "debt_detail_unverified")}


def test_callback_request_to_a_third_party_passes_unverified_mode():
    assert check_message("麻烦转告张先生方便时回电 400-800-1234，谢谢。", party_verified=False) == []


def test_unverified_mode_still_applies_every_other_rule():
    violations = check_message("联系你单位", party_verified=False)
    assert [v.rule_id for v in violations] == ["P3"]


def test_verified_is_the_default():
    assert check_message("逾期 5 天") == []
