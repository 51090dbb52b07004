"""POST /api/v1/loans/{loan_id}/payments: admin only, 201 then 200 on an identical retry."""

import asyncio
from datetime import date

import pytest
from sqlalchemy import func, select

from api.loans.models import Payment
from api.users.models import Role
from tests.api.payments.builders import make_loan
from tests.api.users.builders import make_user, user_headers
from tests.conftest import open_chat

BODY = {
    "external_ref": "BANK-7781",
    "amount_fen": 2_500,
    "paid_at": "2026-02-10T09:30:00+08:00",
    "channel": "bank_transfer",
}


def url(loan_id: int) -> str:
    return f"/api/v1/loans/{loan_id}/payments"


@pytest.fixture
async def admin(client, session) -> dict[str, str]:
    await make_user(session, username="admin", role=Role.ADMIN)
    return await user_headers(client, username="admin")


async def test_admin_records_a_payment_and_sees_its_allocation(client, session, admin):
    loan = await make_loan(session, schedule=[(date(2026, 1, 31), 2_000), (date(2026, 2, 28), 9_000)])

    response = await client.post(url(loan.id), json=BODY, headers=admin)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["amount_fen"] == 2_500 and body["external_ref"] == "BANK-7781"
    assert body["paid_at"].startswith("2026-02-10T01:30:00")  # stored in UTC
    assert body["allocation"] == {
        "fees_fen": 1_000, "penalty_interest_fen": 1_500, "interest_fen": 0, "principal_fen": 0,
    }
    assert body["loan_status"] == "overdue"
    assert [(i["applied_fen"], i["status"]) for i in body["schedule_items"]] == [
        (2_000, "paid"),
        (500, "pending"),
    ]


async def test_identical_retry_returns_the_same_payment_with_200(client, session, admin):
    loan = await make_loan(session)
    first = await client.post(url(loan.id), json=BODY, headers=admin)

    again = await client.post(url(loan.id), json=BODY, headers=admin)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


async def test_concurrent_identical_posts_create_one_payment(client, session, admin):
    loan = await make_loan(session)

    responses = await asyncio.gather(
        *(client.post(url(loan.id), json=BODY, headers=admin) for _ in range(3))
    )

    assert sorted(r.status_code for r in responses) == [200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await session.scalar(select(func.count()).select_from(Payment)) == 1


async def test_reused_reference_with_other_data_is_409(client, session, admin):
    loan = await make_loan(session)
    await client.post(url(loan.id), json=BODY, headers=admin)

    response = await client.post(url(loan.id), json={**BODY, "amount_fen": 2_600}, headers=admin)

    assert response.status_code == 409
    assert response.json()["error"] == "PaymentConflict"


async def test_overpayment_is_422_and_nothing_is_recorded(client, session, admin):
    loan = await make_loan(session)

    response = await client.post(
        url(loan.id), json={**BODY, "amount_fen": loan.total_due_fen + 1}, headers=admin
    )

    assert response.status_code == 422
    assert response.json()["error"] == "Overpayment"
    assert await session.scalar(select(func.count()).select_from(Payment)) == 0


async def test_unknown_loan_is_404(client, admin):
    response = await client.post(url(424_242), json=BODY, headers=admin)
    assert response.status_code == 404
    assert response.json()["error"] == "LoanNotFound"


@pytest.mark.parametrize(
    "bad",
    [
        {"amount_fen": 0},
        {"amount_fen": 2**31},
        {"paid_at": "2026-02-10T09:30:00"},  # no time zone
        {"paid_at": "2999-01-01T00:00:00Z"},  # in the future
        {"external_ref": "has space"},
        {"channel": ""},
    ],
)
async def test_invalid_payment_is_422(client, session, admin, bad):
    loan = await make_loan(session)
    response = await client.post(url(loan.id), json={**BODY, **bad}, headers=admin)
    assert response.status_code == 422


async def test_collector_and_compliance_may_not_record_payments(client, session):
    loan = await make_loan(session)
    for role in (Role.COLLECTOR, Role.COMPLIANCE):
        await make_user(session, username=f"u-{role}", role=role)
        headers = await user_headers(client, username=f"u-{role}")
        response = await client.post(url(loan.id), json=BODY, headers=headers)
        assert response.status_code == 403, role


async def test_service_token_and_borrower_session_are_not_enough(client, session, service_headers):
    loan = await make_loan(session)
    chat = await open_chat(client)
    for headers in (service_headers, {"Authorization": f"Bearer {chat['session_token']}"}, {}):
        response = await client.post(url(loan.id), json=BODY, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "NotAuthenticated"
