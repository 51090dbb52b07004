"""The deterministic readers behind a binding choice (D3): which plan, and whether 确认."""

import pytest

from actions.choice import pick_option
from actions.consent import is_explicit_consent

OFFERED = [
    {"kind": "extension", "term_days": 15, "term_months": None},
    {"kind": "extension", "term_days": 30, "term_months": None},
    {"kind": "instalment", "term_days": None, "term_months": 3},
    {"kind": "instalment", "term_days": None, "term_months": 6},
    {"kind": "instalment", "term_days": None, "term_months": 12},
    {"kind": "penalty_waiver", "term_days": None, "term_months": None},
]


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("第二个", 1), ("选2", 1), ("2", 1), ("２", 1), ("option 3", 2), ("方案四", 3),
        ("就分6期那个吧", 3), ("12期的", 4), ("十二个月那个", 4), ("30天那个", 1),
        ("第一个方案", 0), ("减免那个", 5), ("我要第六个", 5), ("选A", 0), ("plan b", 1),
        ("C方案", 2),
    ],
)
def test_choice_is_read(text, index):
    assert pick_option(text, OFFERED) == index


@pytest.mark.parametrize("text", ["第七个", "9期", "展期", "分期那个", "随便吧", "都不行", "0", "选Z", "ok"])
def test_unclear_or_impossible_choice_is_none(text):
    assert pick_option(text, OFFERED) is None


def test_one_plan_shown_can_be_taken_with_this_one():
    assert pick_option("就这个", OFFERED[:1]) == 0
    assert pick_option("就这个", OFFERED) is None


@pytest.mark.parametrize("text", ["确认", " 确认 ", "确认\n"])
def test_the_explicit_word_is_consent(text):
    assert is_explicit_consent(text)


@pytest.mark.parametrize(
    "text",
    ["好吧", "嗯", "ok", "行", "不确认", "确认一下", "先不确认", "确 认", "queren", "确定", "", "确认。", "【确认】"],
)
def test_anything_else_is_not(text):
    assert not is_explicit_consent(text)
