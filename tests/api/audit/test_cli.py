"""`python -m api.audit verify` exit codes, run as the operator would."""

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy import delete

from api.audit.models import AuditEvent
from tests.api.audit.helpers import append_events, tamper

ROOT = Path(__file__).resolve().parents[3]


async def run_verify(database_url: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "api.audit",
        "verify",
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, output.decode()


async def test_intact_chain_exits_0(database_url, session):
    events = await append_events(session, 3)

    code, output = await run_verify(database_url)

    assert code == 0, output
    assert "intact" in output and events[-1].hash in output


async def test_broken_chain_exits_1_naming_the_first_broken_seq(database_url, session):
    await append_events(session, 4)
    await tamper(session, delete(AuditEvent).where(AuditEvent.seq == 2))

    code, output = await run_verify(database_url)

    assert code == 1, output
    assert "BROKEN at seq 3 (seq_gap)" in output


async def test_unreadable_database_exits_2(tmp_path):
    code, output = await run_verify(f"sqlite+aiosqlite:///{tmp_path / 'not-migrated.db'}")
    assert code == 2, output
