"""Counter-offers (O4, L3): a quote within the stated amount, or a reasoned none."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from api.agreements.models import Quote
from api.core.db import utcnow
from tests.api.agreements.helpers import LI, counter_url, set_loan, verified_chat


def borrower_today() -> date:
    return utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture
async def conversation_id(client, seeded, service_headers) -> str:
    return await verified_chat(client, service_headers)


async def counter(client, headers, conversation_id, **body) -> dict:
    response = await client.post(counter_url(conversation_id), json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("monthly_fen", [30_000, 56_000, 100_000, 200_000, 400_000])
async def test_monthly_counter_offer_never_exceeds_the_stated_amount(
    client, service_headers, conversation_id, monthly_fen
):
    body = await counter(
        client, service_headers, conversation_id, monthly_affordable_fen=monthly_fen
    )
    assert body["outcome"] == "fits"
    schedule = body["quote"]["terms"]["schedule"]
    assert max(item["amount"]["fen"] for item in schedule) <= monthly_fen
    assert body["quote"]["kind"] == "instalment"
    counter_terms = body["quote"]["terms"]["counter_offer"]
    assert counter_terms["monthly_affordable"]["fen"] == monthly_fen


async def test_unaffordable_monthly_amount_gets_a_reasoned_none(
    client, session, seeded, service_headers
):
    conversation_id = await verified_chat(client, service_headers, LI)
    body = await counter(client, service_headers, conversation_id, monthly_affordable_fen=30_000)
    assert body["outcome"] == "none" and body["quote"] is None
    assert body["reason_code"] == "exceeds_max_months"
    assert body["human_review"] is True
    assert "人工" in body["reason_text"]
    assert await session.scalar(select(func.count()).select_from(Quote)) == 0


async def test_amount_by_date_becomes_a_partial_payment_quote(
    client, service_headers, conversation_id
):
    pay_by = borrower_today() + timedelta(days=10)
    body = await counter(
        client, service_headers, conversation_id,
        amount_by_date_fen=100_000, pay_by_date=pay_by.isoformat(),
    )
    assert body["outcome"] == "fits"
    [item] = body["quote"]["terms"]["schedule"]
    assert item["amount"]["fen"] <= 100_000
    assert date.fromisoformat(item["due_date"]) <= pay_by
    assert body["quote"]["terms"]["remaining_balance"]["fen"] > 0


async def test_late_promise_date_gets_the_nearest_compliant_date(
    client, service_headers, conversation_id
):
    pay_by = borrower_today() + timedelta(days=40)
    body = await counter(
        client, service_headers, conversation_id,
        amount_by_date_fen=100_000, pay_by_date=pay_by.isoformat(),
    )
    assert body["outcome"] == "alternative"
    assert body["reason_code"] == "promise_date_too_late" and body["human_review"] is True
    [item] = body["quote"]["terms"]["schedule"]
    assert item["amount"]["fen"] <= 100_000
    assert date.fromisoformat(item["due_date"]) < pay_by


async def test_amount_below_minimum_share_is_never_raised(client, service_headers, conversation_id):
    pay_by = borrower_today() + timedelta(days=10)
    body = await counter(
        client, service_headers, conversation_id,
        amount_by_date_fen=5_000, pay_by_date=pay_by.isoformat(),
    )
    assert body["outcome"] == "none" and body["quote"] is None
    assert body["reason_code"] == "below_minimum_share"


async def test_paused_loan_gets_no_counter_offer(client, session, service_headers, conversation_id):
    await set_loan(session, "张伟", collection_paused=True)
    body = await counter(client, service_headers, conversation_id, monthly_affordable_fen=100_000)
    assert body["outcome"] == "none" and body["quote"] is None
    assert body["reason_code"] == "collection_paused" and body["human_review"] is True


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"monthly_affordable_fen": 0},
        {"monthly_affordable_fen": -100},
        {"monthly_affordable_fen": 10**12 + 1},
        {"monthly_affordable_fen": 300.5},
        {"monthly_affordable_fen": "30000"},
        {"monthly_affordable_fen": True},
        {"amount_by_date_fen": 50_000},
        {"pay_by_date": "2099-01-01"},
        {"monthly_affordable_fen": 30_000, "amount_by_date_fen": 50_000},
        {"amount_by_date_fen": 50_000, "pay_by_date": "2020-01-01"},
        {"amount_by_date_fen": 50_000, "pay_by_date": "9999-12-31"},
        {"amount_by_date_fen": 50_000, "pay_by_date": "not-a-date"},
        {"monthly_affordable_fen": 30_000, "contract_no": "x" * 100},
    ],
)
async def test_bad_counter_offers_are_field_level_422(
    client, service_headers, conversation_id, body
):
    response = await client.post(counter_url(conversation_id), json=body, headers=service_headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "body"


async def test_past_date_refusal_is_in_chinese(client, service_headers, conversation_id):
    response = await client.post(
        counter_url(conversation_id),
        json={"amount_by_date_fen": 50_000, "pay_by_date": "2020-01-01"},
        headers=service_headers,
    )
    assert response.json()["detail"][0]["msg"] == "承诺还款日期不能早于今天。"
