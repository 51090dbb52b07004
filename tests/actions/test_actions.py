import httpx
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import LoanApiClient
from actions.identity import ActionVerifyIdentity
from actions.loans import ActionExplainAmountDue
from tests.actions.conftest import responses, tracker_for
from tests.conftest import open_chat


async def test_amount_due_asks_for_identity_before_any_disclosure(client, seeded, client_factory, dispatcher):
    chat = await open_chat(client)
    action = ActionExplainAmountDue(client_factory)

    events = await action.run(dispatcher, tracker_for(chat["conversation_id"], "我欠多少钱", "ask_amount_due"), {})

    assert events == []
    assert responses(dispatcher) == ["utter_ask_identity"]
    assert not any("3,250" in str(m) for m in dispatcher.messages)


async def test_verified_borrower_hears_the_amount_from_the_api(client, seeded, client_factory, dispatcher):
    chat = await open_chat(client)
    tracker = tracker_for(chat["conversation_id"], "我叫张伟，后四位1234，生日1990年3月7日", "inform_identity")

    await ActionVerifyIdentity(client_factory).run(dispatcher, tracker, {})

    assert responses(dispatcher) == [
        "utter_identity_verified",
        "utter_amount_due",
        "utter_amount_due_next_step",
    ]
    amount = dispatcher.messages[1]
    assert amount["total_due"] == "¥3,250.00"
    assert (amount["principal"], amount["interest"], amount["penalty_interest"], amount["fees"]) == (
        "¥3,000.00",
        "¥150.00",
        "¥60.00",
        "¥40.00",
    )
    assert amount["days_past_due"] == 35


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
        answers.append(dispatcher.messages)
    assert all(a == [answers[0][0]] for a in answers)
    assert answers[0][0]["response"] == "utter_identity_not_verified"


async def test_third_failure_tells_the_borrower_verification_is_locked(
    client, seeded, client_factory
):
    chat = await open_chat(client)
    said = []
    for _ in range(4):
        dispatcher = CollectingDispatcher()
        await ActionVerifyIdentity(client_factory).run(
            dispatcher, tracker_for(chat["conversation_id"], "张伟 0000 1990-03-07", "inform_identity"), {}
        )
        said.extend(responses(dispatcher))
    assert said == [
        "utter_identity_not_verified",
        "utter_identity_not_verified",
        "utter_identity_locked",
        "utter_identity_locked",
    ]


async def test_incomplete_identity_asks_again_without_calling_the_api(client_factory, dispatcher):
    # No conversation exists: had the action called the api, it would have got a 404.
    await ActionVerifyIdentity(client_factory).run(
        dispatcher, tracker_for("no-such-conversation", "张伟 1234", "inform_identity"), {}
    )
    assert responses(dispatcher) == ["utter_identity_incomplete"]


async def test_unreachable_api_becomes_an_honest_apology(dispatcher):
    def unreachable() -> LoanApiClient:
        # A real connection attempt to a closed port: the outside world failing.
        return LoanApiClient(httpx.AsyncClient(base_url="http://127.0.0.1:9", timeout=1))

    await ActionExplainAmountDue(unreachable).run(
        dispatcher, tracker_for("any", "我欠多少钱", "ask_amount_due"), {}
    )
    assert responses(dispatcher) == ["utter_service_unavailable"]
