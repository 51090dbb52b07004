from datetime import date

from api.admin.identity_docs import parse_id_number
from api.seed import DEMO_BORROWERS


def test_demo_id_numbers_are_valid_and_match_the_demo_birth_dates():
    for demo in DEMO_BORROWERS:
        parsed = parse_id_number(demo.id_number, today=date(2026, 1, 1))
        assert parsed is not None, demo.full_name
        assert parsed.birth_date == demo.birth_date
