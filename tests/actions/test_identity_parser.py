from datetime import date

import pytest

from actions.identity_parser import IdentityClaim, parse_identity

ZHANG = IdentityClaim(full_name="张伟", id_last4="1234", birth_date=date(1990, 3, 7))


@pytest.mark.parametrize(
    "text",
    [
        "张伟 1234 1990-03-07",
        "张伟，1234，1990/3/7",
        "我叫张伟，身份证后四位1234，生日1990年3月7日",
        "身份证后4位 1234 张伟 19900307",
        "1990.3.7 张伟 尾号1234",
        "姓名：张伟 出生日期：1990年03月07号 身份证号后四位：1234",
    ],
)
def test_identity_is_read_in_any_order_and_format(text):
    assert parse_identity(text) == ZHANG


def test_x_check_character_is_upper_cased():
    claim = parse_identity("李娜 456x 1985-11-23")
    assert claim is not None and claim.id_last4 == "456X"


@pytest.mark.parametrize(
    "text",
    [
        "我欠多少钱",
        "张伟 1990-03-07",  # no last four
        "张伟 1234",  # no birth date
        "1234 1990-03-07",  # no name
        "张伟 1234 1990-02-30",  # impossible date
        "张伟 12345 1990-03-07",  # five digits are not a last-four
    ],
)
def test_incomplete_or_malformed_claims_are_none(text):
    assert parse_identity(text) is None
