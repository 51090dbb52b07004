"""`python -m api.outreach.worker --once`: the scaled topology's worker process runs one
pass against the database in DATABASE_URL and prints its counts."""

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from api.core.db import utcnow
from api.outreach.models import OutreachMessage
from tests.api.outreach.conftest import loan_due, make_web_borrower

ROOT = Path(__file__).resolve().parents[3]


async def test_the_worker_process_runs_one_pass_and_reports_it(session, database_url):
    borrower, _ = await make_web_borrower(session)
    # Due in two days from whatever "now" is: a due_soon reminder, sent or held by T1
    # depending on the hour the test runs; either way the pass decides it.
    await loan_due(session, borrower, (utcnow() + timedelta(days=2)).date())

    done = subprocess.run(
        [sys.executable, "-m", "api.outreach.worker", "--once"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DATABASE_URL": database_url, "OUTREACH_SCHEDULER": "external"},
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["scheduled"] == 1 and report["claimed"] == 1
    assert report.get("sent", 0) + report.get("held", 0) == 1
    row = (await session.scalars(select(OutreachMessage).execution_options(populate_existing=True))).one()
    assert row.kind == "due_soon" and row.status in ("sent", "held") and row.claimed_by is None
    assert isinstance(date.fromisoformat(row.payload["due_date"]), date)


def _check(database_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "api.outreach.worker", "--check"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DATABASE_URL": database_url},
    )


async def test_the_health_check_passes_on_a_migrated_database(database_url):
    done = _check(database_url)
    assert done.returncode == 0, done.stderr


def test_the_health_check_fails_without_the_outreach_table(tmp_path):
    done = _check(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    assert done.returncode == 1
    assert "outreach_messages" in done.stderr
