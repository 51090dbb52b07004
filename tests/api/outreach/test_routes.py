"""Staff routes: a borrower's outreach log (compliance, admin) and the lender's pause
flag (admin, O5); and the embedded loop the api starts on the default setting."""

import asyncio
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from api.audit.models import AuditAction, AuditEvent
from api.core.db import utcnow
from api.loans.models import Loan
from api.main import create_app
from api.outreach.models import OutreachMessage
from api.users.models import Role
from tests.api.outreach.conftest import at_local, loan_due, make_web_borrower, worker_at
from tests.api.users.builders import make_user, user_headers

NOW = at_local("Asia/Shanghai", 2026, 3, 10, 10)


@pytest.fixture
async def staff(client, session) -> dict[str, dict]:
    headers = {}
    for role in (Role.COMPLIANCE, Role.ADMIN, Role.COLLECTOR):
        await make_user(session, username=f"{role}-outreach", role=role)
        headers[role.value] = await user_headers(client, username=f"{role}-outreach")
    return headers


async def test_compliance_reads_a_borrowers_outreach_log_with_rule_ids(app, client, session, staff):
    borrower, _ = await make_web_borrower(session)
    await loan_due(session, borrower, date(2026, 3, 10))
    await loan_due(session, borrower, date(2026, 3, 11), paused=True)
    await worker_at(app, NOW).run_once()

    response = await client.get(f"/api/v1/outreach/borrowers/{borrower.id}/messages",
                                headers=staff["compliance"])

    assert response.status_code == 200
    log = {row["kind"]: row for row in response.json()}
    assert log["due_today"]["status"] == "sent" and "P3" in log["due_today"]["checked_rules"]
    assert (log["due_soon"]["status"], log["due_soon"]["rule_id"]) == ("blocked", "O5")
    assert log["due_soon"]["detail"]
    missing = await client.get("/api/v1/outreach/borrowers/999999/messages", headers=staff["compliance"])
    assert missing.status_code == 404 and missing.json()["error"] == "BorrowerNotFound"


async def test_an_admin_pauses_a_loan_and_queued_reminders_are_blocked(app, client, session, staff):
    borrower, _ = await make_web_borrower(session)
    loan = await loan_due(session, borrower, date(2026, 3, 10))

    refused = await client.put(f"/api/v1/outreach/loans/{loan.id}/pause",
                               json={"paused": True, "reason": "灾害缓冲期"}, headers=staff["collector"])
    paused = await client.put(f"/api/v1/outreach/loans/{loan.id}/pause",
                              json={"paused": True, "reason": "灾害缓冲期"}, headers=staff["admin"])
    again = await client.put(f"/api/v1/outreach/loans/{loan.id}/pause",
                             json={"paused": True, "reason": "重复"}, headers=staff["admin"])

    assert refused.status_code == 403
    assert paused.status_code == 200 and paused.json() == {
        "loan_id": loan.id, "borrower_id": borrower.id, "collection_paused": True}
    assert again.status_code == 200
    events = (await session.scalars(select(AuditEvent).where(
        AuditEvent.action == AuditAction.LOAN_COLLECTION_PAUSE_CHANGED))).all()
    assert len(events) == 1 and events[0].payload["reason"] == "灾害缓冲期"  # no-op not audited
    assert (await session.get(Loan, loan.id, populate_existing=True)).collection_paused

    await worker_at(app, NOW).run_once()
    row = (await session.scalars(select(OutreachMessage))).one()
    assert (row.status, row.rule_id) == ("blocked", "O5")


async def test_pausing_an_unknown_loan_is_404(client, staff):
    response = await client.put("/api/v1/outreach/loans/999999/pause",
                                json={"paused": True, "reason": "x"}, headers=staff["admin"])
    assert response.status_code == 404 and response.json()["error"] == "LoanNotFound"


async def test_the_api_runs_no_loop_when_outreach_is_off_or_external(app, settings):
    assert app.state.outreach is None
    external = create_app(settings.model_copy(update={"outreach_scheduler": "external"}))
    async with external.router.lifespan_context(external):
        assert external.state.outreach is None


def _zone_in_daytime() -> str:
    """A fixed-offset zone where it is now mid-day, so T1 lets the live loop send."""
    hour = utcnow().hour
    offset = 14 - hour  # local 14:00
    offset = (offset + 12) % 24 - 12
    # Etc/GMT signs are inverted: Etc/GMT-8 is UTC+8.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


async def test_the_embedded_loop_schedules_and_sends_on_its_own(settings):
    embedded = settings.model_copy(update={"outreach_scheduler": "embedded",
                                           "outreach_scan_interval_seconds": 0.05})
    app = create_app(embedded)
    async with app.router.lifespan_context(app):
        assert app.state.outreach is not None
        async with app.state.sessionmaker() as session:
            zone = _zone_in_daytime()
            borrower, _ = await make_web_borrower(session, zone=zone)
            local_today = datetime.now(timezone.utc).astimezone(ZoneInfo(zone)).date()
            await loan_due(session, borrower, local_today)
            for _ in range(100):
                await asyncio.sleep(0.05)
                row = await session.scalar(select(OutreachMessage).execution_options(populate_existing=True))
                if row is not None and row.status == "sent":
                    break
            assert row is not None and row.status == "sent" and row.kind == "due_today"
