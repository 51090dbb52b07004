"""Escalation (E1-E5), third parties (P1, P2) and misunderstandings (E2 without a loop)."""

import pytest
from sqlalchemy import select

from actions.escalation import TRIGGERS
from actions.templates import render
from api.audit.models import AuditAction, AuditEvent
from api.gateway.models import Conversation

MONEY_WORDS = ("¥", "元", "欠", "逾期", "还款", "贷")


@pytest.mark.parametrize("intent", sorted(TRIGGERS))
async def test_every_trigger_hands_over_with_its_reason_and_no_money_talk(verified, intent):
    await verified.say("request_instalment", "分期")

    turn = await verified.say(intent, "……")

    reason, template = TRIGGERS[intent]
    assert turn.texts == [render(template)]
    assert turn.handoffs == [{"reason_code": reason, "note": f"intent {intent}"}]
    if reason in ("E3", "E5"):
        assert not any(word in turn.text for word in MONEY_WORDS)


def test_trigger_reason_codes_follow_the_compliance_catalogue():
    assert {intent: reason for intent, (reason, _) in TRIGGERS.items()} == {
        "dispute_debt": "E1",
        "complain": "complaint",
        "request_human": "E2",
        "express_distress": "E3",
        "inform_lawyer_involved": "E4",
        "inform_bereavement": "E5",
    }


async def test_third_party_learns_nothing_and_disclosure_stops(verified, session):
    turn = await verified.say("third_party_speaking", "我是他同事，他人不在")

    assert turn.texts == [render("third_party")]
    for word in ("¥", "逾期", "欠款", "普惠", "贷款"):
        assert word not in turn.text
    # Even though the conversation had verified, nothing more is disclosed (P1).
    after = await verified.say("ask_amount_due", "他欠了多少")
    assert after.texts == [render("ask_identity")]
    conversation = await session.get(Conversation, verified.id)
    assert conversation.verified_at is None
    events = (await session.scalars(select(AuditEvent.action))).all()
    assert AuditAction.THIRD_PARTY_REPORTED in events


async def test_third_party_on_an_unverified_chat_gets_the_same_answer(conversation):
    turn = await conversation.say("third_party_speaking", "你好 我是他老婆")
    assert turn.texts == [render("third_party")]
    assert turn.handoffs == []


async def test_first_miss_redirects_second_offers_a_person(conversation):
    first = await conversation.say("nlu_fallback", "asdfgh")
    assert first.texts == [render("fallback_first")]
    assert first.handoffs == []

    second = await conversation.say("out_of_scope", "今天天气怎么样")
    assert second.texts == [render("fallback_offer_human")]

    accepted = await conversation.say("affirm", "需要")
    assert accepted.handoffs[0]["reason_code"] == "E2"


async def test_an_understood_message_resets_the_count(conversation):
    await conversation.say("nlu_fallback", "asdfgh")
    await conversation.say("greet", "你好")
    turn = await conversation.say("out_of_scope", "今天天气怎么样")
    assert turn.texts == [render("out_of_scope")]


async def test_declining_the_offered_person_continues(conversation):
    await conversation.say("nlu_fallback", "a")
    await conversation.say("nlu_fallback", "b")
    turn = await conversation.say("deny", "不用")
    assert turn.texts == [render("human_declined")]
    assert conversation.slots["human_offered"] is False


async def test_data_request_in_chat_becomes_a_tracked_request(verified, session):
    from api.compliance.models import DataRequest

    turn = await verified.say("request_my_data", "把你们存的我的聊天记录导出给我一份")

    assert turn.texts[0] == render("privacy_notice")
    request = await session.scalar(select(DataRequest))
    assert (request.kind, request.status, request.conversation_id) == ("copy", "open", verified.id)
    assert f"编号 {request.id}" in turn.texts[1] and "复制" in turn.texts[1]


async def test_data_request_waits_for_verification(conversation, session):
    from api.compliance.models import DataRequest

    asked = await conversation.say("request_my_data", "我要删除我的个人信息")
    assert asked.texts == [render("ask_identity")]
    assert await session.scalar(select(DataRequest)) is None

    await conversation.say("inform_identity", "张伟 1234 1990-03-07")
    assert (await session.scalar(select(DataRequest))).kind == "deletion"
