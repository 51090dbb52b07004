"""Time-barred loans (L2, E6): no online option, a person first; activity restarts the clock."""

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from api.agreements.limitation import is_time_barred, last_activity
from api.loans.models import Loan, Payment
from tests.api.agreements.helpers import counter_url, quotes_url, verified_chat

TODAY = date(2026, 11, 30)


@pytest.fixture
async def loan(session, seeded) -> Loan:
    return await session.scalar(select(Loan).where(Loan.contract_no == "PH-2026-000101"))


async def test_due_date_within_three_years_is_not_time_barred(session, loan):
    loan.due_date = date(2023, 12, 1)
    assert not await is_time_barred(session, loan, today=TODAY, years=3)


async def test_three_years_without_activity_is_time_barred(session, loan):
    loan.due_date = date(2023, 11, 29)
    assert await is_time_barred(session, loan, today=TODAY, years=3)


async def test_a_payment_restarts_the_period(session, loan):
    loan.due_date = date(2020, 1, 1)
    session.add(Payment(
        loan_id=loan.id, external_ref="pay-1", amount_fen=100,
        paid_at=datetime(2025, 6, 1, 8, tzinfo=timezone.utc), channel="bank",
    ))
    await session.flush()
    assert await last_activity(session, loan) == date(2025, 6, 1)
    assert not await is_time_barred(session, loan, today=TODAY, years=3)


async def test_time_barred_loan_is_blocked_for_human_review(client, session, loan, service_headers):
    loan.due_date = date(2021, 3, 1)
    await session.commit()
    conversation_id = await verified_chat(client, service_headers)

    quotes = await client.post(quotes_url(conversation_id), json={}, headers=service_headers)
    counter = await client.post(
        counter_url(conversation_id), json={"monthly_affordable_fen": 50_000}, headers=service_headers
    )

    assert quotes.status_code == 201
    assert quotes.json()["quotes"] == []
    assert quotes.json()["blocked"]["reason_code"] == "time_barred"
    assert quotes.json()["blocked"]["human_review"] is True
    assert counter.json()["outcome"] == "none" and counter.json()["quote"] is None
    assert counter.json()["reason_code"] == "time_barred"
