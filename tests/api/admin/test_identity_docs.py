"""Resident ID numbers (GB 11643) and mobile numbers (pure)."""

from datetime import date

import pytest

from api.admin.identity_docs import mask_mobile, normalise_mobile, parse_id_number

TODAY = date(2026, 6, 1)


def test_valid_number_yields_birth_date_and_last_four():
    parsed = parse_id_number("11010519491231002x", today=TODAY)
    assert parsed is not None
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.last4 == "002X" and parsed.normalised == "11010519491231002X"


@pytest.mark.parametrize(
    "number",
    [
        "110105194912310021",  # wrong check digit
        "11010519491231002",  # 17 characters
        "1101051949123100211",  # 19 characters
        "99010519491231002X",  # no such province
        "110105194902300027",  # 30 February
        "110105203001010012",  # born in the future
        "11010519491231002Y",
        "",
    ],
)
def test_malformed_numbers_are_refused(number):
    assert parse_id_number(number, today=TODAY) is None


@pytest.mark.parametrize(
    "phone", ["13812345678", "+86 138 1234 5678", "138-1234-5678", "0086 13812345678"]
)
def test_mobile_numbers_are_normalised_and_masked(phone):
    mobile = normalise_mobile(phone)
    assert mobile == "13812345678"
    assert mask_mobile(mobile) == "138****5678"


@pytest.mark.parametrize("phone", ["12812345678", "1381234567", "010-12345678", "abc"])
def test_non_mobile_numbers_are_refused(phone):
    assert normalise_mobile(phone) is None
