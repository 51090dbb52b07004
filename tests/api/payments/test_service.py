"""record_payment: allocation, idempotency (also under concurrency), refusals, audit."""

import asyncio
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from api.agreements.models import Agreement, AgreementStatus
from api.audit.models import AuditAction, AuditEvent
from api.audit.service import verify
from api.loans.models import Loan, LoanStatus, Payment, ScheduleItem, ScheduleItemStatus
from api.payments.errors import LoanNotFound, Overpayment, PaymentConflict
from api.payments.service import record_payment
from tests.api.payments.builders import make_agreement, make_loan

PAID_AT = datetime(2026, 2, 10, 9, 30, tzinfo=timezone.utc)


def payment(loan_id: int, **overrides) -> dict:
    return {
        "loan_id": loan_id,
        "external_ref": "WX-20260210-0001",
        "amount_fen": 10_000,
        "paid_at": PAID_AT,
        "channel": "wechat_pay",
        "actor": "user:1",
        **overrides,
    }


async def reload(session, model, id_):
    return await session.get(model, id_, populate_existing=True)


async def test_payment_reduces_fees_then_penalty_then_interest_then_principal(session):
    loan = await make_loan(session)  # fees 1,000 / penalty 2,000 / interest 5,000

    recorded = await record_payment(session, **payment(loan.id, amount_fen=10_000))
    await session.commit()

    assert recorded.created
    a = recorded.allocation
    assert (a.fees_fen, a.penalty_interest_fen, a.interest_fen, a.principal_fen) == (
        1_000, 2_000, 5_000, 2_000,
    )
    loan = await reload(session, Loan, loan.id)
    assert (loan.fees_fen, loan.penalty_interest_fen, loan.outstanding_interest_fen) == (0, 0, 0)
    assert loan.outstanding_principal_fen == 98_000
    assert loan.status == LoanStatus.OVERDUE


async def test_payment_covers_schedule_items_oldest_first(session):
    loan = await make_loan(
        session,
        schedule=[(date(2026, 2, 28), 5_000), (date(2026, 1, 31), 3_000), (date(2026, 3, 31), 4_000)],
    )
    items = (
        await session.scalars(
            select(ScheduleItem).where(ScheduleItem.loan_id == loan.id).order_by(ScheduleItem.due_date)
        )
    ).all()

    recorded = await record_payment(session, **payment(loan.id, amount_fen=6_000))
    await session.commit()

    assert [(i.item_id, i.applied_fen, i.status) for i in recorded.items] == [
        (items[0].id, 3_000, ScheduleItemStatus.PAID),
        (items[1].id, 3_000, ScheduleItemStatus.PENDING),
    ]
    stored = [await reload(session, ScheduleItem, i.id) for i in items]
    assert [(i.paid_fen, i.status) for i in stored] == [
        (3_000, ScheduleItemStatus.PAID),
        (3_000, ScheduleItemStatus.PENDING),
        (0, ScheduleItemStatus.PENDING),
    ]


async def test_a_missed_item_becomes_paid_when_fully_covered(session):
    loan = await make_loan(
        session, schedule=[(date(2026, 1, 31), 3_000)], schedule_status=ScheduleItemStatus.MISSED
    )

    recorded = await record_payment(session, **payment(loan.id, amount_fen=3_000))
    await session.commit()

    assert recorded.items[0].status == ScheduleItemStatus.PAID


async def test_paying_everything_settles_the_loan(session):
    loan = await make_loan(session)

    recorded = await record_payment(session, **payment(loan.id, amount_fen=loan.total_due_fen))
    await session.commit()

    assert recorded.loan_status == LoanStatus.SETTLED
    assert (await reload(session, Loan, loan.id)).total_due_fen == 0


async def test_overpayment_is_refused_and_changes_nothing(session):
    loan = await make_loan(session)
    loan_id, total = loan.id, loan.total_due_fen

    with pytest.raises(Overpayment):
        await record_payment(session, **payment(loan_id, amount_fen=total + 1))
    await session.rollback()

    assert await session.scalar(select(func.count()).select_from(Payment)) == 0
    assert (await reload(session, Loan, loan_id)).total_due_fen == total


async def test_unknown_loan_is_not_found(session):
    with pytest.raises(LoanNotFound):
        await record_payment(session, **payment(999_999))


async def test_same_reference_and_data_returns_the_first_payment(session):
    loan = await make_loan(session, schedule=[(date(2026, 1, 31), 20_000)])
    total = loan.total_due_fen
    first = await record_payment(session, **payment(loan.id))
    await session.commit()

    again = await record_payment(
        session, **payment(loan.id, paid_at=PAID_AT.astimezone(timezone(timedelta(hours=8))))
    )
    await session.commit()

    assert not again.created and again.payment.id == first.payment.id
    assert again.allocation == first.allocation and again.items == first.items
    assert await session.scalar(select(func.count()).select_from(Payment)) == 1
    assert (await reload(session, Loan, loan.id)).total_due_fen == total - 10_000


@pytest.mark.parametrize(
    "change",
    [
        {"amount_fen": 10_001},
        {"channel": "alipay"},
        {"paid_at": PAID_AT + timedelta(seconds=1)},
    ],
)
async def test_same_reference_with_different_data_conflicts(session, change):
    loan = await make_loan(session)
    await record_payment(session, **payment(loan.id))
    await session.commit()

    with pytest.raises(PaymentConflict):
        await record_payment(session, **payment(loan.id, **change))


async def test_same_reference_on_another_loan_conflicts(session):
    loan, other = await make_loan(session), await make_loan(session)
    await record_payment(session, **payment(loan.id))
    await session.commit()

    with pytest.raises(PaymentConflict):
        await record_payment(session, **payment(other.id))


async def _record_in_own_session(app, **kwargs):
    async with app.state.sessionmaker() as own:
        try:
            result = await record_payment(own, **kwargs)
            await own.commit()
            return result
        except Exception as exc:
            await own.rollback()
            return exc


async def test_concurrent_identical_posts_record_one_payment(app, session):
    loan = await make_loan(session)
    total = loan.total_due_fen

    results = await asyncio.gather(
        *(_record_in_own_session(app, **payment(loan.id)) for _ in range(4))
    )

    assert all(not isinstance(r, Exception) for r in results), results
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len({r.payment.id for r in results}) == 1
    assert await session.scalar(select(func.count()).select_from(Payment)) == 1
    assert (await reload(session, Loan, loan.id)).total_due_fen == total - 10_000


async def test_concurrent_posts_of_one_reference_for_two_loans_record_one(app, session):
    loan, other = await make_loan(session), await make_loan(session)

    results = await asyncio.gather(
        _record_in_own_session(app, **payment(loan.id)),
        _record_in_own_session(app, **payment(other.id)),
    )

    assert sorted(type(r).__name__ for r in results) == ["PaymentConflict", "RecordedPayment"]
    assert await session.scalar(select(func.count()).select_from(Payment)) == 1


async def test_payment_is_audited_with_its_allocation(session):
    loan = await make_loan(session)

    recorded = await record_payment(session, **payment(loan.id, amount_fen=2_500))
    await session.commit()

    event = await session.scalar(
        select(AuditEvent).where(AuditEvent.action == AuditAction.PAYMENT_RECORDED)
    )
    assert event.actor == "user:1" and event.subject == f"loan:{loan.id}"
    assert event.payload["payment_id"] == recorded.payment.id
    assert event.payload["allocation"] == {
        "fees_fen": 1_000, "penalty_interest_fen": 1_500, "interest_fen": 0, "principal_fen": 0,
    }
    assert (await verify(session)).ok


async def test_paying_an_agreements_last_item_keeps_it(session):
    loan = await make_loan(session)
    agreement = await make_agreement(
        session, loan=loan, items=[(date(2026, 3, 1), 4_000), (date(2026, 4, 1), 4_000)]
    )

    await record_payment(session, **payment(loan.id, external_ref="A-1", amount_fen=4_000))
    await session.commit()
    assert (await reload(session, Agreement, agreement.id)).status == AgreementStatus.ACTIVE

    await record_payment(session, **payment(loan.id, external_ref="A-2", amount_fen=4_000))
    await session.commit()

    assert (await reload(session, Agreement, agreement.id)).status == AgreementStatus.KEPT
    changes = (
        await session.scalars(
            select(AuditEvent.payload).where(
                AuditEvent.action == AuditAction.AGREEMENT_STATUS_CHANGED
            )
        )
    ).all()
    assert changes == [{"loan_id": loan.id, "from": "active", "to": "kept"}]
