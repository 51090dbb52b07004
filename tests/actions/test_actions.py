"""Identity, amount due and api failures: the actions against the real api (in-process)."""

import httpx
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import LoanApiClient
from actions.dialogue import ActionExplainAmountDue
from actions.identity import ActionVerifyIdentity
from actions.templates import render
from tests.actions.conftest import tracker_for
from tests.conftest import open_chat


def texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["text"] for m in dispatcher.messages if m.get("text")]


async def test_amount_due_asks_for_identity_before_any_disclosure(conversation):
    turn = await conversation.say("ask_amount_due", "我欠多少钱")

    assert turn.texts == [render("ask_identity")]
    assert "3,250" not in turn.text
    assert conversation.slots["pending_request"]["intent"] == "ask_amount_due"


async def test_verified_borrower_hears_the_amount_from_the_api(conversation):
    turn = await conversation.say("inform_identity", "我叫张伟，后四位1234，生日1990年3月7日")

    assert turn.texts[0] == render("identity_verified")
    assert turn.texts[1] == render(
        "amount_due",
        product_name="普惠信用贷",
        contract_no="PH-2026-000101",
        total_due="¥3,250.00",
        principal="¥3,000.00",
        interest="¥150.00",
        penalty_interest="¥60.00",
        fees="¥40.00",
        due_date=turn.texts[1].split("应还日为 ")[1].split("，")[0],
        days_past_due=35,
    )
    assert turn.texts[2] == render("amount_due_next_step")


async def test_request_made_before_verification_is_carried_out_after_it(conversation):
    asked = await conversation.say("request_instalment", "我想分期还")
    assert asked.texts == [render("ask_identity")]

    turn = await conversation.say("inform_identity", "张伟 1234 1990-03-07")

    assert turn.texts[0] == render("identity_verified")
    assert turn.texts[1].startswith(render("options_intro"))
    assert "分6期" in turn.texts[1] and "综合年化成本" in turn.texts[1]
    assert conversation.slots["pending_request"] is None
    assert [o["kind"] for o in conversation.slots["offered_quotes"]] == ["instalment"] * 3


async def test_wrong_identity_gets_the_same_answer_whatever_field_is_wrong(
    client, seeded, client_factory
):
    answers = []
    for text in ("张纬 1234 1990-03-07", "张伟 4321 1990-03-07", "张伟 1234 1991-03-07"):
        chat = await open_chat(client)
        dispatcher = CollectingDispatcher()
        await ActionVerifyIdentity(client_factory).run(
            dispatcher, tracker_for(chat["conversation_id"], text, "inform_identity"), {}
        )
        answers.append(texts(dispatcher))
    assert answers == [[render("identity_not_verified")]] * 3


async def test_third_failure_locks_verification_and_offers_a_person(conversation):
    said = []
    for _ in range(4):
        said.append((await conversation.say("inform_identity", "张伟 0000 1990-03-07")).text)

    assert said == [render("identity_not_verified")] * 2 + [render("identity_locked")] * 2
    assert conversation.slots["human_offered"] is True
    accepted = await conversation.say("affirm", "好的")
    assert accepted.handoffs == [{"reason_code": "E2", "note": "accepted the offer of a human"}]


async def test_incomplete_identity_asks_again_without_calling_the_api(client_factory, dispatcher):
    # No conversation exists: had the action called the api, it would have got a 404.
    await ActionVerifyIdentity(client_factory).run(
        dispatcher, tracker_for("no-such-conversation", "张伟 1234", "inform_identity"), {}
    )
    assert texts(dispatcher) == [render("identity_incomplete")]


async def test_unreachable_api_is_an_honest_apology_and_a_handoff(dispatcher):
    def unreachable() -> LoanApiClient:
        # A real connection attempt to a closed port: the outside world failing.
        return LoanApiClient(httpx.AsyncClient(base_url="http://127.0.0.1:9", timeout=1))

    await ActionExplainAmountDue(unreachable).run(
        dispatcher, tracker_for("any", "我欠多少钱", "ask_amount_due"), {}
    )
    assert texts(dispatcher) == [render("service_unavailable")]
    assert dispatcher.messages[-1]["custom"] == {"handoff": {"reason_code": "service_unavailable"}}
