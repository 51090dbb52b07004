"""Automatic flags: a crafted conversation per rule raises it; a clean one raises none.

The rules are pure functions over a conversation's facts (api/compliance/flags.py), so
most tests build the facts in memory; the last ones run `refresh` against the database.
"""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from api.agreements.models import Agreement
from api.compliance import flag_cache
from api.compliance.flags import Facts, OptOut, evaluate
from api.compliance.models import ComplianceFlag
from api.gateway.models import Conversation, Escalation, Message, ReasonCode, Sender
from tests.api.compliance.helpers import OPENING, T0, make_conversation

VERIFY = "张伟 1234 1990-03-07"


def _facts(lines, *, verified_after: int | None = None, escalations=(), agreements=(), opt_outs=(),
           timezone_name="Asia/Shanghai", opening=True, channel="web") -> Facts:
    """Messages one minute apart; `verified_after`: verified just after that message index."""
    if opening:
        lines = [("bot", OPENING, "opening_disclosure", None), *lines]
    messages = []
    for i, line in enumerate(lines):
        sender, text, template, payload = (*line, None, None)[:4] if len(line) < 4 else line
        messages.append(Message(id=i + 1, conversation_id="c", sender=Sender(sender), text=text,
                                template=template, payload=payload, status="sent",
                                created_at=T0 + timedelta(minutes=i)))
    verified_at = None
    if verified_after is not None:
        verified_at = messages[verified_after].created_at + timedelta(seconds=30)
    conversation = Conversation(id="c", channel=channel, state="bot", session_token_hash="x",
                                created_at=T0, verified_at=verified_at, borrower_id=1)
    return Facts(conversation=conversation, messages=messages, escalations=list(escalations),
                 agreements=list(agreements), opt_outs=list(opt_outs), timezone=timezone_name)


def rules(found) -> list[str]:
    return [f.rule_id for f in found]


CLEAN = [
    ("borrower", "我欠多少钱"),
    ("bot", "为保护您的隐私，告知任何账户信息前需要先核实身份。", "ask_identity"),
    ("borrower", VERIFY),
    ("bot", "您目前共需还款 ¥3,250.00，已逾期 12 天。", "amount_due"),
    ("borrower", "每月只能还300"),
    ("bot", "可以分6期，每月还 ¥560.00。", "options"),
]


def test_a_clean_conversation_has_no_flags():
    assert evaluate(_facts(CLEAN, verified_after=3)) == []


def test_missing_opening_disclosure_is_d1():
    found = evaluate(_facts([("bot", "你好，请问有什么可以帮您？"), ("borrower", "你好")], opening=False))
    assert rules(found) == ["D1"]
    assert found[0].message_id == 1


def test_debt_detail_before_verification_is_p4():
    found = evaluate(_facts(CLEAN, verified_after=None))
    assert set(rules(found)) == {"P4"}
    assert [f.message_id for f in found] == [5, 7]


def test_the_identity_prompt_before_verification_is_not_p4():
    lines = [("borrower", "我欠多少钱"), ("bot", "告知欠款信息前需要先核实身份。", "ask_identity")]
    assert evaluate(_facts(lines)) == []


@pytest.mark.parametrize("sender", ["bot", "agent"])
def test_prohibited_language_by_bot_or_collector_is_l1(sender):
    lines = [*CLEAN, ("borrower", "我还不上"), (sender, "再不还钱就让你好看，后果自负")]
    found = evaluate(_facts(lines, verified_after=3))
    assert rules(found) and set(rules(found)) == {"L1"}
    assert all(f.message_id == 9 for f in found)


def test_borrower_words_are_not_checked_by_the_guard():
    lines = [*CLEAN, ("borrower", "你们再打电话我就让你好看")]
    assert evaluate(_facts(lines, verified_after=3)) == []


def _agreement(consent_message_id, consent_text="确认", at_index=9):
    return Agreement(id=7, kind="instalment", consent_text=consent_text, consent_message_id=consent_message_id,
                     created_at=T0 + timedelta(minutes=at_index, seconds=30))


def test_agreement_after_explicit_confirmation_is_clean():
    lines = [*CLEAN, ("borrower", "第一个"), ("bot", "请回复「确认」"), ("borrower", "确认")]
    assert evaluate(_facts(lines, verified_after=3, agreements=[_agreement(10)])) == []


def test_agreement_without_explicit_confirmation_is_d3():
    lines = [*CLEAN, ("borrower", "第一个"), ("bot", "请回复「确认」"), ("borrower", "好吧")]
    found = evaluate(_facts(lines, verified_after=3, agreements=[_agreement(None)]))
    assert rules(found) == ["D3"]


def test_agreement_citing_a_message_that_is_not_confirmation_is_d3():
    lines = [*CLEAN, ("borrower", "第一个"), ("bot", "请回复「确认」"), ("borrower", "嗯")]
    assert rules(evaluate(_facts(lines, verified_after=3, agreements=[_agreement(10)]))) == ["D3"]


HANDOFF = {"custom": {"handoff": {"reason_code": "E1"}}}


@pytest.mark.parametrize(("text", "rule_id"), [
    ("这笔钱不是我借的", "E1"),
    ("我要投诉你们", "E2"),
    ("活着没意思", "E3"),
    ("我已经请了律师", "E4"),
    ("借款人已经去世了", "E5"),
    ("我还是未成年", "E6"),
])
def test_escalation_trigger_answered_without_handoff_is_flagged(text, rule_id):
    lines = [*CLEAN, ("borrower", text), ("bot", "好的，还有什么可以帮您？")]
    found = evaluate(_facts(lines, verified_after=3))
    assert rules(found) == [rule_id]
    assert found[0].message_id == 8


def test_escalation_trigger_answered_with_a_handoff_payload_is_clean():
    lines = [*CLEAN, ("borrower", "这笔钱不是我借的"), ("bot", "为您转接工作人员核实。", "rasa", HANDOFF)]
    assert evaluate(_facts(lines, verified_after=3)) == []


def test_escalation_trigger_answered_by_an_escalation_row_is_clean():
    lines = [*CLEAN, ("borrower", "活着没意思"), ("system", "听到您这样说，我很担心您。")]
    escalation = Escalation(id=1, conversation_id="c", reason_code=ReasonCode.DISTRESS, urgency=1,
                            created_at=T0 + timedelta(minutes=7, seconds=1))
    assert evaluate(_facts(lines, verified_after=3, escalations=[escalation])) == []


def test_handoff_turn_that_mentions_an_amount_is_flagged():
    lines = [*CLEAN, ("borrower", "这笔钱不是我借的"),
             ("bot", "为您转人工，您还欠 ¥3,250.00。", "rasa", HANDOFF)]
    found = evaluate(_facts(lines, verified_after=3))
    assert rules(found) == ["E1"] and found[0].message_id == 9


def test_bot_message_after_opt_out_without_borrower_contact_is_t4():
    lines = [*CLEAN, ("borrower", "别再发了"), ("bot", "好的，已为您关闭网页渠道的消息。"),
             ("agent", "您好，关于还款计划想再跟您确认一下")]
    opt_out = OptOut(at=T0 + timedelta(minutes=7, seconds=10), channels=frozenset({"web"}), stop_all=False)
    # The confirmation answers the opt-out; the collector's later message is new contact …
    # … but it is in the same turn. Only a message with no borrower turn since is contact:
    found = evaluate(_facts(lines, verified_after=3, opt_outs=[opt_out]))
    assert found == []
    proactive = [*lines, ("bot", "提醒：明天是还款日", "reminder", {"proactive": True})]
    found = evaluate(_facts(proactive, verified_after=3, opt_outs=[opt_out]))
    assert rules(found) == ["T4"] and found[0].message_id == 11


def test_collector_contact_after_a_staff_recorded_opt_out_is_t4():
    opt_out = OptOut(at=T0 + timedelta(minutes=6, seconds=10), channels=frozenset(), stop_all=True)
    lines = [*CLEAN, ("agent", "您好，关于还款计划想再跟您确认一下")]
    found = evaluate(_facts(lines, verified_after=3, opt_outs=[opt_out]))
    assert rules(found) == ["T4"]


def test_borrower_writing_again_after_opt_out_may_be_answered():
    opt_out = OptOut(at=T0 + timedelta(minutes=6, seconds=10), channels=frozenset({"web"}), stop_all=False)
    lines = [*CLEAN, ("borrower", "我想再问一下分期"), ("bot", "可以分6期。")]
    assert evaluate(_facts(lines, verified_after=3, opt_outs=[opt_out])) == []


def test_proactive_message_at_night_local_time_is_t1():
    night = T0.replace(hour=14)  # 22:00 in Shanghai, 18:00 in Dubai
    lines = [("bot", "提醒：明天是还款日", "reminder", {"proactive": True})]
    facts = _facts(lines, verified_after=0)
    facts.messages[1].created_at = night
    assert rules(evaluate(facts)) == ["T1"]
    facts.timezone = "Asia/Dubai"
    assert evaluate(facts) == []


async def test_refresh_stores_flags_and_recomputes_only_changed_conversations(session):
    clean = await make_conversation(session, [("borrower", "你好")])
    flagged = await make_conversation(session, [("borrower", "你好"), ("bot", "您已逾期 12 天，欠 300元")])
    report = await flag_cache.refresh_stale(session)
    await session.commit()
    assert (report.recomputed, report.by_rule) == (2, {"P4": 1})
    stored = (await session.execute(select(ComplianceFlag.conversation_id, ComplianceFlag.rule_id))).all()
    assert {cid for cid, _ in stored} == {flagged.id}
    assert (await flag_cache.refresh_stale(session)).recomputed == 0

    session.add(Message(conversation_id=clean.id, sender=Sender.AGENT, text="再不还就后果自负",
                        status="sent", created_at=datetime(2026, 3, 2, 2, tzinfo=timezone.utc)))
    await session.flush()
    report = await flag_cache.refresh_stale(session)
    assert report.recomputed == 1 and report.by_rule == {"L1": 1}
