import pytest

from api.core.pii import mask_pii


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我的身份证是110101199003071234", "我的身份证是110101********1234"),
        ("身份证31010419851123456x。", "身份证310104********456x。"),
        ("电话13812345678", "电话138****5678"),
        ("打+86 138-1234-5678找我", "打138****5678找我"),
        ("卡号6222021234567890123", "卡号***************0123"),
        ("卡号 6222 0212 3456 7890", "卡号 ************7890"),
    ],
)
def test_numbers_are_masked_but_keep_their_last_digits(text, masked):
    assert mask_pii(text) == masked


@pytest.mark.parametrize(
    "text",
    ["共需还款 ¥3,250.00", "应还日 2026-10-26", "合同号 PH-2026-000101", "每月还800", "身份证后四位1234"],
)
def test_amounts_dates_and_short_numbers_are_left_alone(text):
    assert mask_pii(text) == text
