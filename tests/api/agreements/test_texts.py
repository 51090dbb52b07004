"""Every Chinese text this domain needs exists in texts.zh.yml (no database needed)."""

import inspect

from api.agreements import errors
from api.agreements.quotes import COLLECTION_PAUSED, PLAN_ABOVE_STATED_AMOUNT
from api.agreements.texts import texts
from api.offers import OptionKind


def test_every_error_has_a_chinese_detail():
    classes = [
        cls for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.AgreementsError) and cls is not errors.AgreementsError
    ]
    assert classes
    for cls in classes:
        detail = cls().detail
        assert detail and not detail.isascii(), cls.__name__


def test_every_reason_and_summary_kind_has_a_text():
    assert {COLLECTION_PAUSED, PLAN_ABOVE_STATED_AMOUNT} <= set(texts()["reasons"])
    for kind in OptionKind:
        assert f"plan_{kind.value}" in texts()["summary"]
        assert f"missed_{kind.value}" in texts()["summary"]


def test_responses_doc_lists_every_error_sharing_a_status():
    doc = errors.responses_for(errors.QuoteTampered, errors.QuoteAlreadyAccepted)
    assert "QuoteTampered" in doc[409]["description"]
    assert "QuoteAlreadyAccepted" in doc[409]["description"]
