"""The console's texts: every closed code has its Chinese label, and what the bot says
after a hand-back passes the guard for the party it may reach."""

import pytest

from api.console.claims import handback_greeting
from api.console.texts import outcome_label, reason_label, urgency_label
from api.gateway.escalation import URGENCY
from api.gateway.models import CloseOutcome, ReasonCode
from api.guard import check_message


@pytest.mark.parametrize("code", list(ReasonCode))
def test_every_reason_code_has_its_own_label(code):
    assert reason_label(code) != reason_label("no-such-code") or code == ReasonCode.UNSPECIFIED


@pytest.mark.parametrize("outcome", list(CloseOutcome))
def test_every_close_outcome_has_a_chinese_label(outcome):
    assert not outcome_label(outcome).isascii()


def test_every_urgency_has_a_label():
    assert all(not urgency_label(u).isascii() for u in set(URGENCY.values()))


@pytest.mark.parametrize("verified", [True, False])
def test_the_handback_greeting_passes_the_guard_for_its_reader(verified):
    greeting = handback_greeting("c", verified=verified)
    assert greeting.text.startswith("您好，我是AI助手，人工客服已处理完毕，接下来由我继续为您服务。")
    assert check_message(greeting.text, party_verified=verified) == []
    assert greeting.sender == "bot" and greeting.template == "console_handback_greeting"
