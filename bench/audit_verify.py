"""Benchmark (not a test): how long `api.audit.service.verify` takes, and how much memory
it needs, for audit chains of 10k / 100k / 1M events on SQLite and PostgreSQL.

    .venv/bin/python bench/audit_verify.py [--sizes 10000,100000,1000000]
                                           [--backends sqlite,postgresql]

Each run builds a fresh, migrated database, bulk-inserts a valid chain (hashes computed
with api.audit.service.event_hash; SQLAlchemy Core executemany on SQLite, COPY on
PostgreSQL), then runs verify in a fresh subprocess so its peak RSS is its own. Writes
bench/results/audit_verify.json and .md. Every figure is measured; nothing is estimated.
PostgreSQL: TEST_POSTGRES_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/test).
"""

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import create_engine, insert  # noqa: E402

from api.audit.models import GENESIS_HASH, AuditAction, AuditEvent  # noqa: E402
from api.audit.service import event_hash  # noqa: E402
from api.manage import migrate  # noqa: E402

RESULTS = ROOT / "bench" / "results"
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
CHUNK = 20_000
ACTIONS = [AuditAction.PAYMENT_RECORDED, AuditAction.PREFERENCE_CHANGED, AuditAction.AUTH_LOGIN]
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
COLUMNS = ("seq", "at", "actor", "action", "subject", "payload", "prev_hash", "hash")


def chain(count: int) -> Iterator[list[tuple]]:
    """A valid chain in chunks of rows (COLUMNS order; payload as a dict)."""
    prev, rows = GENESIS_HASH, []
    for seq in range(1, count + 1):
        at = START + timedelta(microseconds=seq * 1_000)
        action = ACTIONS[seq % len(ACTIONS)]
        subject = f"loan:{seq % 5_000}"
        payload = {"amount_fen": seq * 100, "note": f"第{seq}笔还款", "channel": "wechat_pay"}
        digest = event_hash(
            seq=seq, at=at, actor="service:actions", action=action, subject=subject,
            payload=payload, prev_hash=prev,
        )
        rows.append((seq, at, "service:actions", str(action), subject, payload, prev, digest))
        prev = digest
        if len(rows) == CHUNK:
            yield rows
            rows = []
    if rows:
        yield rows


def insert_sqlite(path: Path, count: int) -> None:
    # The sync pysqlite dialect shares the SQLite type processors with aiosqlite, so the
    # stored text is exactly what the app would have written.
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for rows in chain(count):
            conn.execute(insert(AuditEvent), [dict(zip(COLUMNS, row)) for row in rows])
    engine.dispose()


async def insert_postgres(dsn: str, count: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for rows in chain(count):
                records = [(*row[:5], json.dumps(row[5], ensure_ascii=False), *row[6:]) for row in rows]
                await conn.copy_records_to_table("audit_events", records=records, columns=COLUMNS)
        await conn.execute("ANALYZE audit_events")
    finally:
        await conn.close()


async def pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def verify_in_subprocess(url: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--verify-only", url],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def peak_rss_bytes() -> int:
    """This process's resident-set high-water mark (VmHWM). Not getrusage's ru_maxrss:
    Linux carries that across fork+exec, so a child would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmHWM not found in /proc/self/status")


async def _verify(url: str) -> dict:
    from api.audit.service import verify
    from api.core.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            await verify(session, batch_size=10)  # warm-up: connect, load code paths
            baseline = psutil.Process().memory_info().rss
            started = time.perf_counter()
            report = await verify(session)
            seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    return {
        "ok": report.ok,
        "checked": report.checked,
        "verify_seconds": round(seconds, 2),
        "rss_before_verify_mb": round(baseline / 2**20, 1),
        "peak_rss_mb": round(peak_rss_bytes() / 2**20, 1),
    }


def run_case(backend: str, count: int, scratch: Path) -> dict:
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    if backend == "sqlite":
        path = scratch / f"audit_{count}.db"
        url = f"sqlite+aiosqlite:///{path}"
        migrate(url)
        insert_sqlite(path, count)
        cleanup = path.unlink
    else:
        name = f"bench_audit_{os.getpid()}_{count}"
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
        url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
        migrate(url)
        asyncio.run(insert_postgres(url.replace("postgresql+asyncpg://", "postgresql://"), count))
        cleanup = lambda: asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))  # noqa: E731
    build_seconds = time.perf_counter() - started
    try:
        measured = verify_in_subprocess(url)
    finally:
        cleanup()
    assert measured["ok"] and measured["checked"] == count, measured
    return {
        "backend": backend,
        "events": count,
        "build_seconds": round(build_seconds, 1),
        **measured,
        "events_per_second": round(count / measured["verify_seconds"]),
        # The machine may be shared: 1-minute load average before and after the case.
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def _cell(value) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(result: dict) -> str:
    by = {(r["backend"], r["events"]): r for r in result["runs"]}
    sizes = sorted({r["events"] for r in result["runs"]})
    lines = [
        "# Audit chain verify: time and memory",
        "",
        f"Measured {result['measured_at']} on {result['machine']['cpus']} CPU(s), "
        f"Python {result['machine']['python']}, {result['machine']['platform']}. "
        "`api.audit.service.verify` (keyset pages of 1000 events), run in a fresh process "
        "per case; chains built with `event_hash` and bulk-inserted beforehand.",
        "",
        "| events | SQLite verify (s) | PostgreSQL verify (s) | SQLite events/s | "
        "PostgreSQL events/s | SQLite peak RSS (MB) | PostgreSQL peak RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        s, p = by.get(("sqlite", n), {}), by.get(("postgresql", n), {})
        cells = [
            run.get(key)
            for key in ("verify_seconds", "events_per_second", "peak_rss_mb")
            for run in (s, p)
        ]
        lines.append(f"| {n:,} | " + " | ".join(_cell(c) for c in cells) + " |")
    lines += [
        "",
        "1-minute load average per case (before, after): "
        + "; ".join(
            f"{r['backend']} {r['events']:,}: {r['load_avg_1m'][0]}, {r['load_avg_1m'][1]}"
            for r in result["runs"]
        )
        + f" (on {result['machine']['cpus']} CPU(s); other jobs shared the machine when "
        "the load exceeds the CPU count, so times are upper bounds).",
        "",
        "Peak RSS is the verifying process's whole high-water mark (interpreter, SQLAlchemy, "
        "driver included); its RSS just before verify started is in the JSON "
        "(`rss_before_verify_mb`), as is the time to build each chain (`build_seconds`).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/audit_verify.py")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--verify-only", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.verify_only:
        print(json.dumps(asyncio.run(_verify(args.verify_only))))
        return
    runs = []
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as scratch:
        for count in [int(s) for s in args.sizes.split(",")]:
            for backend in args.backends.split(","):
                run = run_case(backend, count, Path(scratch))
                print(json.dumps(run), flush=True)
                runs.append(run)
    result = {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "audit_verify.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "audit_verify.md").write_text(markdown(result))


if __name__ == "__main__":
    main()
