"""Demo data for the embedded default: two overdue borrowers to chat as, and one staff
user per role to sign in as.

The borrowers' verification data is printed by `make run`; it is fictitious. The demo
users' passwords are public (listed below), so `python -m api.manage init-db` creates
them only outside production.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.security import id_number_hash
from api.loans.models import Borrower, Loan, LoanStatus, ScheduleItem, ScheduleItemStatus
from api.users.models import Role, User
from api.users.service import create_user, normalise_username


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
        id_number="110117199003071234",  # valid check digit (GB 11643)
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
        id_number="31010519851123456X",  # valid check digit (GB 11643)
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
DEMO_TERM_DAYS = 180


async def seed_demo(session: AsyncSession, *, id_hash_salt: str, today: date | None = None) -> int:
    """Insert the demo borrowers that are missing; returns how many were added."""
    today = today or datetime.now(ZoneInfo(DEMO_TIMEZONE)).date()
    added = 0
    for demo in DEMO_BORROWERS:
        digest = id_number_hash(demo.id_number, salt=id_hash_salt)
        # Known by ID hash or by contract number: a database seeded by an older demo
        # data set keeps its borrowers rather than failing on the unique contract number.
        exists = await session.scalar(
            select(Borrower.id).where(Borrower.id_number_hash == digest)
        ) or await session.scalar(select(Loan.id).where(Loan.contract_no == demo.contract_no))
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
        due_date = today - timedelta(days=demo.days_past_due)
        loan = Loan(
            borrower=borrower,
            contract_no=demo.contract_no,
            product_name=DEMO_PRODUCT,
            principal_fen=demo.principal_fen,
            contract_rate_bp=DEMO_RATE_BP,
            contract_date=due_date - timedelta(days=DEMO_TERM_DAYS),
            due_date=due_date,
            outstanding_principal_fen=demo.outstanding_principal_fen,
            outstanding_interest_fen=demo.interest_fen,
            penalty_interest_fen=demo.penalty_interest_fen,
            fees_fen=demo.fees_fen,
            status=LoanStatus.OVERDUE,
        )
        # The contract's last instalment, missed: what the borrower is behind on.
        loan.schedule.append(
            ScheduleItem(
                seq=1,
                due_date=due_date,
                amount_fen=demo.total_due_fen,
                status=ScheduleItemStatus.MISSED,
            )
        )
        session.add(loan)
        added += 1
    await session.flush()
    return added


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    password: str  # public demo password: never seeded in production


DEMO_USERS = (
    DemoUser(username="admin", display_name="演示管理员", role=Role.ADMIN, password="demo-admin-pass"),
    DemoUser(
        username="collector",
        display_name="演示催收员",
        role=Role.COLLECTOR,
        password="demo-collector-pass",
    ),
    DemoUser(
        username="compliance",
        display_name="演示合规专员",
        role=Role.COMPLIANCE,
        password="demo-compliance-pass",
    ),
)


async def seed_demo_users(session: AsyncSession) -> int:
    """Create the demo users that are missing (audited as user.created by "system");
    returns how many were added. An existing user is left as is, password included."""
    added = 0
    for demo in DEMO_USERS:
        username = normalise_username(demo.username)
        if await session.scalar(select(User.id).where(User.username == username)) is not None:
            continue
        await create_user(
            session,
            username=username,
            display_name=demo.display_name,
            role=demo.role,
            password=demo.password,
            actor="system",
        )
        added += 1
    return added
