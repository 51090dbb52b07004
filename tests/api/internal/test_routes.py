"""Internal routes the action server uses: identity first (P4), then amounts."""

from datetime import timedelta

import pytest

from api.core.db import utcnow
from api.gateway.models import Conversation
from tests.conftest import open_chat

ZHANG = {"full_name": "张伟", "id_last4": "1234", "birth_date": "1990-03-07"}


def verification_url(conversation_id: str) -> str:
    return f"/internal/v1/conversations/{conversation_id}/identity-verification"


def amount_url(conversation_id: str) -> str:
    return f"/internal/v1/conversations/{conversation_id}/amount-due"


@pytest.fixture
async def chat(client, seeded) -> dict:
    return await open_chat(client)


async def test_internal_routes_need_the_service_token(client, chat):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": chat["session_token"]}):
        response = await client.get(amount_url(chat["conversation_id"]), headers=headers)
        assert response.status_code == 401, headers


async def test_borrower_session_token_cannot_reach_internal_routes(client, chat):
    response = await client.get(
        amount_url(chat["conversation_id"]),
        headers={"Authorization": f"Bearer {chat['session_token']}"},
    )
    assert response.status_code == 401


async def test_amount_due_is_refused_before_verification(client, chat, service_headers):
    response = await client.get(amount_url(chat["conversation_id"]), headers=service_headers)
    assert response.status_code == 403
    assert response.json()["error"] == "IdentityNotVerified"
    assert "3,250" not in response.text


async def test_verified_conversation_gets_amount_with_breakdown(client, chat, service_headers):
    verified = await client.post(
        verification_url(chat["conversation_id"]), json=ZHANG, headers=service_headers
    )
    assert verified.status_code == 200
    assert verified.json()["verified"] is True

    response = await client.get(amount_url(chat["conversation_id"]), headers=service_headers)
    assert response.status_code == 200
    body = response.json()
    assert body["total_due"] == {"fen": 325_000, "display": "¥3,250.00"}
    [loan] = body["loans"]
    assert loan["principal"]["fen"] + loan["interest"]["fen"] + loan["penalty_interest"][
        "fen"
    ] + loan["fees"]["fen"] == 325_000
    assert loan["days_past_due"] == 35


@pytest.mark.parametrize(
    "wrong",
    [
        {**ZHANG, "full_name": "张纬"},
        {**ZHANG, "id_last4": "1235"},
        {**ZHANG, "birth_date": "1990-03-08"},
    ],
)
async def test_wrong_field_fails_without_saying_which(client, chat, service_headers, wrong):
    response = await client.post(
        verification_url(chat["conversation_id"]), json=wrong, headers=service_headers
    )
    assert response.status_code == 200
    assert response.json() == {"verified": False, "attempts_left": 2, "locked_until": None}


async def test_third_failure_locks_verification_even_for_correct_data(
    client, chat, service_headers, session
):
    url = verification_url(chat["conversation_id"])
    wrong = {**ZHANG, "id_last4": "9999"}
    attempts = [(await client.post(url, json=wrong, headers=service_headers)).json() for _ in range(3)]
    assert [a["attempts_left"] for a in attempts] == [2, 1, 0]
    assert attempts[-1]["locked_until"] is not None

    locked = await client.post(url, json=ZHANG, headers=service_headers)
    assert locked.status_code == 423
    assert locked.json()["error"] == "VerificationLocked"

    # Once the lock has passed, correct data verifies again.
    conversation = await session.get(Conversation, chat["conversation_id"])
    conversation.verification_locked_until = utcnow() - timedelta(seconds=1)
    await session.commit()
    again = await client.post(url, json=ZHANG, headers=service_headers)
    assert again.json()["verified"] is True


async def test_malformed_claims_are_field_level_422(client, chat, service_headers):
    url = verification_url(chat["conversation_id"])
    for bad in ({**ZHANG, "id_last4": "12a4"}, {**ZHANG, "birth_date": "1990-13-01"}, {"full_name": "张伟"}):
        response = await client.post(url, json=bad, headers=service_headers)
        assert response.status_code == 422, bad


async def test_unknown_conversation_is_404_and_a_malformed_id_422(client, service_headers, seeded):
    unknown = await client.post(
        verification_url("00000000-0000-0000-0000-000000000000"), json=ZHANG, headers=service_headers
    )
    assert unknown.status_code == 404
    malformed = await client.post(verification_url("nope"), json=ZHANG, headers=service_headers)
    assert malformed.status_code == 422


async def test_amount_due_says_which_time_zone_dates_are_read_in(client, chat, service_headers):
    await client.post(verification_url(chat["conversation_id"]), json=ZHANG, headers=service_headers)
    response = await client.get(amount_url(chat["conversation_id"]), headers=service_headers)
    assert response.json()["borrower_timezone"] == "Asia/Shanghai"


async def test_third_party_report_revokes_disclosure(client, chat, service_headers):
    conversation_id = chat["conversation_id"]
    await client.post(verification_url(conversation_id), json=ZHANG, headers=service_headers)
    assert (await client.get(amount_url(conversation_id), headers=service_headers)).status_code == 200

    reported = await client.post(
        f"/internal/v1/conversations/{conversation_id}/third-party", headers=service_headers
    )

    assert reported.status_code == 200
    assert reported.json() == {"verified": False}
    after = await client.get(amount_url(conversation_id), headers=service_headers)
    assert after.status_code == 403  # P1: nothing more until the borrower verifies again


async def test_third_party_report_on_an_unknown_conversation_is_404(client, seeded, service_headers):
    response = await client.post(
        "/internal/v1/conversations/00000000-0000-4000-8000-000000000000/third-party",
        headers=service_headers,
    )
    assert response.status_code == 404


async def test_data_request_is_opened_only_for_the_verified_borrower(client, chat, service_headers):
    url = f"/internal/v1/conversations/{chat['conversation_id']}/data-requests"
    refused = await client.post(url, json={"kind": "access"}, headers=service_headers)
    assert refused.status_code == 403

    await client.post(verification_url(chat["conversation_id"]), json=ZHANG, headers=service_headers)
    opened = await client.post(url, json={"kind": "deletion", "note": "删掉我的信息"}, headers=service_headers)

    assert opened.status_code == 201
    assert opened.json()["kind"] == "deletion" and opened.json()["status"] == "open"
    bad = await client.post(url, json={"kind": "everything"}, headers=service_headers)
    assert bad.status_code == 422
