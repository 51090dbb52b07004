"""Demo data for the embedded default: two overdue borrowers to chat as.

Their verification data is printed by `make run`; it is fictitious.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.security import id_number_hash
from api.loans.models import Borrower, Loan, LoanStatus


@dataclass(frozen=True)
class DemoBorrower:
    full_name: str
    id_number: str
    birth_date: date
    phone_masked: str
    contract_no: str
    principal_fen: int
    outstanding_principal_fen: int
    interest_fen: int
    penalty_interest_fen: int
    fees_fen: int
    days_past_due: int

    @property
    def total_due_fen(self) -> int:
        return (
            self.outstanding_principal_fen
            + self.interest_fen
            + self.penalty_interest_fen
            + self.fees_fen
        )


DEMO_BORROWERS = (
    DemoBorrower(
        full_name="张伟",
        id_number="110101199003071234",
        birth_date=date(1990, 3, 7),
        phone_masked="138****5678",
        contract_no="PH-2026-000101",
        principal_fen=500_000,
        outstanding_principal_fen=300_000,
        interest_fen=15_000,
        penalty_interest_fen=6_000,
        fees_fen=4_000,
        days_past_due=35,
    ),
    DemoBorrower(
        full_name="李娜",
        id_number="31010419851123456X",
        birth_date=date(1985, 11, 23),
        phone_masked="139****4321",
        contract_no="PH-2026-000102",
        principal_fen=1_200_000,
        outstanding_principal_fen=1_200_000,
        interest_fen=48_050,
        penalty_interest_fen=0,
        fees_fen=0,
        days_past_due=8,
    ),
)

DEMO_TIMEZONE = "Asia/Shanghai"
DEMO_PRODUCT = "普惠信用贷"
DEMO_RATE_BP = 1_800  # 18.00 % p.a.


async def seed_demo(session: AsyncSession, *, id_hash_salt: str, today: date | None = None) -> int:
    """Insert the demo borrowers that are missing; returns how many were added."""
    today = today or datetime.now(ZoneInfo(DEMO_TIMEZONE)).date()
    added = 0
    for demo in DEMO_BORROWERS:
        digest = id_number_hash(demo.id_number, salt=id_hash_salt)
        exists = await session.scalar(select(Borrower.id).where(Borrower.id_number_hash == digest))
        if exists is not None:
            continue
        borrower = Borrower(
            full_name=demo.full_name,
            id_number_hash=digest,
            id_last4=demo.id_number[-4:].upper(),
            birth_date=demo.birth_date,
            phone_masked=demo.phone_masked,
            timezone=DEMO_TIMEZONE,
        )
        session.add(borrower)
        session.add(
            Loan(
                borrower=borrower,
                contract_no=demo.contract_no,
                product_name=DEMO_PRODUCT,
                principal_fen=demo.principal_fen,
                contract_rate_bp=DEMO_RATE_BP,
                due_date=today - timedelta(days=demo.days_past_due),
                outstanding_principal_fen=demo.outstanding_principal_fen,
                outstanding_interest_fen=demo.interest_fen,
                penalty_interest_fen=demo.penalty_interest_fen,
                fees_fen=demo.fees_fen,
                status=LoanStatus.OVERDUE,
            )
        )
        added += 1
    await session.flush()
    return added
