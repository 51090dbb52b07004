"""Negotiation flows end to end through the actions, against the real api and database."""

import re

import pytest
from sqlalchemy import func, select

from actions.templates import render
from api.agreements.models import Agreement
from api.contact_preferences.models import ContactPreference

MONEY = re.compile(r"¥[\d,]+\.\d{2}")


async def agreements(session) -> int:
    return await session.scalar(select(func.count()).select_from(Agreement))


async def test_full_instalment_agreement(verified, session):
    options = await verified.say("request_instalment", "能分期吗")
    assert "分3期" in options.text and "分12期" in options.text
    # O1: every option shows its annualised cost and total repayable
    option_lines = [line for line in options.texts[0].splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert len(option_lines) == 3
    assert all("综合年化成本" in line and "共还" in line for line in option_lines)

    summary = await verified.say("choose_option", "第二个")
    assert "分6期" in summary.text and "还款计划" in summary.text
    assert summary.texts[-1].startswith("如同意以上方案，请回复")

    vague = await verified.say("affirm", "嗯嗯 好吧")
    assert vague.texts == [render("consent_reask")]
    assert await agreements(session) == 0

    done = await verified.say("confirm_agreement", "确认")
    assert "协议编号" in done.text
    assert await agreements(session) == 1
    assert verified.slots["selected_quote_id"] is None


@pytest.mark.parametrize("text", ["不确认", "确认一下再说", "我再确认下"])
async def test_classifier_hearing_confirm_is_not_consent(verified, session, text):
    await verified.say("request_instalment", "分期")
    await verified.say("choose_option", "1")

    turn = await verified.say("confirm_agreement", text)

    assert turn.texts == [render("consent_reask")]
    assert await agreements(session) == 0


async def test_confirming_twice_never_makes_two_agreements(verified, session):
    await verified.say("request_extension", "能延期吗")
    await verified.say("choose_option", "30天那个")
    quote_id = verified.slots["selected_quote_id"]
    await verified.say("confirm_agreement", "确认")

    verified.slots["selected_quote_id"] = quote_id  # a retried delivery of the same turn
    again = await verified.say("confirm_agreement", "确认")

    assert await agreements(session) == 1
    assert "协议编号" in again.text  # the same agreement, replayed by its Idempotency-Key


async def test_nothing_to_confirm_without_a_chosen_plan(verified, session):
    turn = await verified.say("confirm_agreement", "确认")
    assert turn.texts == [render("nothing_to_confirm")]
    assert await agreements(session) == 0


async def test_declining_the_summary_drops_the_plan(verified):
    await verified.say("request_instalment", "分期")
    await verified.say("choose_option", "第三个")
    turn = await verified.say("deny", "不要")
    assert turn.texts == [render("quote_cancelled")]
    assert verified.slots["selected_quote_id"] is None


async def test_unclear_choice_asks_again(verified):
    await verified.say("request_instalment", "分期")
    turn = await verified.say("choose_option", "第九个")
    assert turn.texts == [render("choice_unclear")]


async def test_affordable_monthly_amount_gets_a_plan_within_it(verified):
    turn = await verified.say("inform_affordable_amount", "每个月只能还八百", amount="八百")

    assert turn.texts[0].startswith(render("counter_fits"))
    monthly = MONEY.findall(turn.texts[0].splitlines()[1])[0]
    assert int(monthly[1:].replace(",", "").split(".")[0]) <= 800  # never above what was said
    summary = await verified.say("affirm", "行 就这个")
    assert "还款计划" in summary.text


async def test_amount_too_small_gets_an_honest_answer_and_a_person(verified):
    turn = await verified.say("inform_affordable_amount", "每月最多还50", amount="50")

    assert turn.handoffs == [{"reason_code": "negotiation_failed"}]
    assert "必须" not in turn.text  # L3: no pressure
    assert verified.slots["offered_quotes"] == []


async def test_promise_to_pay_with_a_date_and_an_amount(verified):
    turn = await verified.say("propose_payment_date", "下周五先还1000", date_phrase="下周五", amount="1000")
    assert turn.texts[0].startswith(render("counter_promise"))
    assert "¥1,000.00" in turn.texts[0]


async def test_promise_date_first_then_amount(verified):
    asked = await verified.say("propose_payment_date", "15号可以还", date_phrase="15号")
    assert "那天，您大概能先还多少钱" in asked.text
    turn = await verified.say("inform_affordable_amount", "两千", amount="两千")
    assert turn.texts[0].startswith(render("counter_promise"))
    assert "¥2,000.00" in turn.texts[0]


async def test_vague_date_asks_for_a_day(verified):
    turn = await verified.say("propose_payment_date", "发工资那天还", date_phrase="发工资那天")
    assert turn.texts == [render("ask_specific_date")]


async def test_full_payment_promise_asks_for_the_date_then_offers_it(verified):
    asked = await verified.say("promise_full_payment", "我会全部还清的")
    assert asked.texts == [render("ask_pay_date_for_full")]
    turn = await verified.say("propose_payment_date", "月底", date_phrase="月底")
    assert "还清全部欠款 ¥3,250.00" in turn.text


async def test_hardship_unlocks_the_penalty_waiver(verified):
    asked = await verified.say("request_waiver", "罚息能免吗")
    assert asked.texts == [render("waiver_needs_reason")]

    turn = await verified.say("inform_hardship_job_loss", "公司裁员了 我现在没工作")
    assert turn.texts[0] == render("hardship_job_loss")
    assert "罚息减免" in turn.text and "减免罚息 ¥" in turn.text
    assert verified.slots["hardship_reason"] == "job_loss"


async def test_fees_are_explained_with_the_api_figures(verified):
    turn = await verified.say("ask_why_fees_grew", "为什么罚息越来越多")
    assert "¥60.00" in turn.text and "¥40.00" in turn.text


@pytest.mark.parametrize(
    ("intent", "column", "template"),
    [
        ("request_stop_workplace_contact", "no_workplace_contact", "preference_workplace"),
        ("request_stop_family_contact", "no_family_contact", "preference_family"),
        ("request_stop_all_contact", "stop_all", "preference_all"),
    ],
)
async def test_contact_preference_is_recorded_then_confirmed(verified, session, intent, column, template):
    turn = await verified.say(intent, "别再打电话了")

    assert turn.texts == [render(template)]
    stored = await session.scalar(select(ContactPreference))
    assert getattr(stored, column) is True


async def test_contact_preference_waits_for_verification(conversation, session):
    asked = await conversation.say("request_stop_workplace_contact", "别打我单位电话了")
    assert asked.texts == [render("ask_identity")]
    assert await session.scalar(select(ContactPreference)) is None

    turn = await conversation.say("inform_identity", "张伟 1234 1990-03-07")
    assert turn.texts == [render("identity_verified"), render("preference_workplace")]
    assert (await session.scalar(select(ContactPreference))).no_workplace_contact is True


async def test_time_barred_loan_gets_no_options_and_a_person(verified, session):
    from datetime import date

    from api.loans.models import Loan

    loan = await session.scalar(select(Loan).where(Loan.contract_no == "PH-2026-000101"))
    loan.due_date = date(2022, 1, 5)  # no payment or agreement since: over 3 years
    await session.commit()

    turn = await verified.say("request_instalment", "我想分期")
    assert turn.handoffs == [
        {"reason_code": "E6", "note": "time-barred: human review before any agreement"}
    ]
    assert "工作人员" in turn.text and "分6期" not in turn.text
    counter = await verified.say("inform_affordable_amount", "每月500", amount="500")
    assert counter.handoffs[0]["reason_code"] == "E6"


async def test_the_borrowers_own_confirm_message_is_the_recorded_consent_act(verified, session):
    from api.gateway.models import Message, MessageStatus, Sender

    await verified.say("request_instalment", "分期")
    await verified.say("choose_option", "第一个")
    consent = Message(
        conversation_id=verified.id, sender=Sender.BORROWER, text="确认", status=MessageStatus.ROUTED
    )
    session.add(consent)
    await session.commit()

    await verified.say("confirm_agreement", "确认", metadata={"message_id": consent.id})

    agreement = await session.scalar(select(Agreement))
    assert agreement.consent_message_id == consent.id


async def test_counter_offer_before_verification_asks_for_identity(conversation):
    turn = await conversation.say("inform_affordable_amount", "每月只能还800", amount="800")
    assert turn.texts == [render("ask_identity")]
    assert conversation.slots["pending_request"]["intent"] == "inform_affordable_amount"
