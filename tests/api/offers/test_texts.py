"""Every code the engine can emit has its Chinese text in texts.zh.yml."""

from api.offers.codes import HardshipReason, OptionKind
from api.offers.texts import (
    format_bp,
    format_date,
    hardship_reason_name,
    option_name,
    reason_codes_without_text,
)
from tests.api.offers.builders import TODAY


def test_every_reason_code_has_a_text():
    assert reason_codes_without_text() == set()


def test_option_kinds_have_their_chinese_names():
    assert [option_name(kind) for kind in OptionKind] == ["展期", "分期还款", "部分还款", "罚息减免"]


def test_every_hardship_reason_has_a_name():
    assert all(hardship_reason_name(reason) for reason in HardshipReason)


def test_basis_points_render_as_percent():
    assert [format_bp(bp) for bp in (2400, 1041, 5, 0)] == ["24.00%", "10.41%", "0.05%", "0.00%"]


def test_dates_render_in_chinese():
    assert format_date(TODAY) == "2026年3月15日"
