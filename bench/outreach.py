"""Benchmark (not a test): scheduling and gating 100k due reminders (issue 9), on SQLite
and PostgreSQL.

    .venv/bin/python bench/outreach.py [--reminders 100000] [--backends sqlite,postgresql]
                                       [--workers 1,2] [--batch 500] [--append]

Each run builds a fresh migrated database with borrowers in Asia/Shanghai, Asia/Dubai and
America/New_York, one loan each with schedule items that call for a reminder "now"
(due today, due in two days, missed yesterday; one borrower in ten has two, so the daily
cap holds the second), a verified web conversation for half of them (the other half get
an inbox conversation on send), and stated preferences for some (stop-all, a channel
opt-out, quiet hours) and a lender pause on some loans. The clock is frozen at
2026-03-10 04:00 UTC (12:00 Shanghai, 08:00 Dubai, 00:00 New York), so New York
borrowers are held by T1.

Phases, each timed on its own:
1. schedule: one `schedule_reminders` pass (scan + INSERT ... ON CONFLICT DO NOTHING).
2. gate: `gate.evaluate` alone over an in-memory snapshot per reminder.
3. worker: `OutreachWorker.run_once` with `--workers` concurrent workers, each reminder
   claimed, re-checked in its own transaction (borrower lock, preferences, pause, plan,
   escalation, recent sends), recorded (sent / held / blocked) with its audit event and
   "delivered" (web: stored in the conversation; no network).
Peak memory: the process's peak RSS (resource.getrusage) after each phase, and the
tracemalloc peak of a scheduler pass (the second, idempotent one: same scan, same
candidates; the first pass is timed untraced). Writes bench/results/outreach.json and .md.
Every figure is measured.
"""

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from api.contact_preferences.models import ContactPreference  # noqa: E402
from api.core.config import Settings  # noqa: E402
from api.core.db import make_engine, make_sessionmaker  # noqa: E402
from api.gateway.models import Conversation  # noqa: E402
from api.loans.models import Borrower, Loan, ScheduleItem  # noqa: E402
from api.manage import migrate  # noqa: E402
from api.outreach.gate import ContactSnapshot, GateConfig, evaluate  # noqa: E402
from api.outreach.models import OutreachMessage  # noqa: E402
from api.outreach.scheduler import schedule_reminders  # noqa: E402
from api.outreach.worker import OutreachWorker  # noqa: E402
from compliance_search import POSTGRES_URL, pg_admin  # noqa: E402  (bench/ is on sys.path)

RESULTS = ROOT / "bench" / "results"
NOW = datetime(2026, 3, 10, 4, 0, tzinfo=timezone.utc)
ZONES = ("Asia/Shanghai", "Asia/Dubai", "America/New_York")
CHUNK = 5_000


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def dataset(reminders: int, rng: random.Random):
    """Rows for borrowers, loans, items, conversations and preferences such that the
    scheduler finds exactly `reminders` reminders."""
    borrowers, loans, items, conversations, preferences = [], [], [], [], []
    b = 0
    while len(items) < reminders:
        b += 1
        zone = ZONES[b % len(ZONES)]
        borrowers.append({"id": b, "full_name": "测试", "id_number_hash": f"h{b}", "id_last4": f"{b % 10_000:04d}",
                          "birth_date": date(1990, 1, 1), "phone_masked": "137****0000", "timezone": zone,
                          "created_at": NOW})
        loans.append({"id": b, "borrower_id": b, "contract_no": f"B-{b}", "product_name": "测试信用贷",
                      "principal_fen": 100_000, "contract_rate_bp": 1_800, "contract_date": date(2025, 9, 1),
                      "due_date": date(2026, 3, 10), "outstanding_principal_fen": 100_000,
                      "outstanding_interest_fen": 0, "penalty_interest_fen": 0, "fees_fen": 0,
                      "status": "overdue", "collection_paused": rng.random() < 0.02, "created_at": NOW})
        for seq in range(1, 3 if b % 10 == 0 else 2):
            kind = rng.random()
            due, status = ((date(2026, 3, 10), "pending") if kind < 0.5 else
                           (date(2026, 3, 12), "pending") if kind < 0.7 else (date(2026, 3, 8), "missed"))
            items.append({"loan_id": b, "seq": seq, "due_date": due, "amount_fen": 50_000, "paid_fen": 0,
                          "status": status})
        if b % 2 == 0:
            conversations.append({"id": str(uuid.UUID(int=rng.getrandbits(128))), "channel": "web",
                                  "state": "bot", "session_token_hash": "0" * 64, "borrower_id": b,
                                  "verified_at": NOW - timedelta(days=1), "created_at": NOW - timedelta(days=1),
                                  "verification_failures": 0})
        roll = rng.random()
        if roll < 0.03:
            preferences.append(_pref(b, stop_all=True))
        elif roll < 0.06:
            preferences.append(_pref(b, opted_out_channels=["web"]))
        elif roll < 0.11:
            preferences.append(_pref(b, quiet_start=dtime(9), quiet_end=dtime(18)))
    return borrowers, loans, items[:reminders], conversations, preferences


def _pref(borrower_id: int, **values) -> dict:
    return {"borrower_id": borrower_id, "no_workplace_contact": False, "no_family_contact": False,
            "quiet_start": None, "quiet_end": None, "opted_out_channels": [], "stop_all": False,
            "updated_at": NOW, **values}


async def load(sessionmaker, rows) -> float:
    t = time.perf_counter()
    async with sessionmaker.begin() as session:
        for model, data in zip((Borrower, Loan, ScheduleItem, Conversation, ContactPreference), rows):
            for start in range(0, len(data), CHUNK):
                await session.execute(insert(model), data[start:start + CHUNK])
    return time.perf_counter() - t


def gate_inputs(reminders: int, rng: random.Random) -> list[ContactSnapshot]:
    """One snapshot per reminder, shaped like the worker's (some sends already today)."""
    out = []
    for i in range(reminders):
        zone = ZONES[i % len(ZONES)]
        sends = tuple(NOW - timedelta(hours=rng.randint(1, 200)) for _ in range(rng.randint(0, 8)))
        out.append(ContactSnapshot(timezone=zone, kind="due_today", channel="web",
                                   channel_is_borrowers_own=True, recent_sends=sends))
    return out


async def run(url: str, reminders: int, workers: int, batch: int) -> dict:
    settings = Settings(database_url=url, outreach_scheduler="off", outreach_batch_size=batch)
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    rows = dataset(reminders, random.Random(reminders))
    result = {"borrowers": len(rows[0]), "schedule_items": len(rows[2]), "load_s": round(await load(sessionmaker, rows), 2)}
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            for table in ("borrowers", "loans", "schedule_items", "conversations", "contact_preferences"):
                await conn.exec_driver_sql(f"ANALYZE {table}")

    t = time.perf_counter()
    async with sessionmaker.begin() as session:
        report = await schedule_reminders(session, now=NOW, settings=settings)
    schedule_s = time.perf_counter() - t
    rss_after_schedule = peak_rss_mb()
    # The second pass scans the same items and builds the same candidates (all of them
    # conflict): its wall time is the idempotent re-run, and it is the pass traced for
    # Python allocations (tracemalloc slows what it traces, so the first pass is not).
    tracemalloc.start()
    t = time.perf_counter()
    async with sessionmaker.begin() as session:
        again = await schedule_reminders(session, now=NOW, settings=settings)
    rerun_s = time.perf_counter() - t
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result["schedule"] = {"created": report.created, "by_kind": report.by_kind, "wall_s": round(schedule_s, 2),
                          "reminders_per_s": round(report.created / schedule_s),
                          "peak_rss_mb": rss_after_schedule,
                          "second_pass_created": again.created, "second_pass_s_traced": round(rerun_s, 2),
                          "second_pass_tracemalloc_peak_mb": round(traced_peak / 2**20, 1)}

    snapshots = gate_inputs(reminders, random.Random(1))
    config = GateConfig.from_settings(settings)
    t = time.perf_counter()
    verdicts = Counter(evaluate(s, now=NOW, config=config).action.value for s in snapshots)
    gate_s = time.perf_counter() - t
    result["gate_only"] = {"evaluations": len(snapshots), "wall_s": round(gate_s, 2),
                           "evaluations_per_s": round(len(snapshots) / gate_s), "verdicts": dict(verdicts)}
    del snapshots

    engines = [engine] + [make_engine(url) for _ in range(workers - 1)]
    pool = [OutreachWorker(sessionmaker=make_sessionmaker(e), settings=settings, clock=lambda: NOW,
                           schedule=False, worker_id=f"bench-{i}") for i, e in enumerate(engines)]
    t = time.perf_counter()
    passes = await asyncio.gather(*(w.run_once() for w in pool))
    worker_s = time.perf_counter() - t
    outcomes = sum((p.outcomes for p in passes), Counter())
    async with sessionmaker() as session:
        statuses = dict((await session.execute(
            select(OutreachMessage.status, func.count()).group_by(OutreachMessage.status))).all())
        rules = dict((await session.execute(
            select(OutreachMessage.rule_id, func.count()).where(OutreachMessage.rule_id.is_not(None))
            .group_by(OutreachMessage.rule_id))).all())
    decided = sum(outcomes.values())
    result["worker"] = {"workers": workers, "batch": batch, "decided": decided, "outcomes": dict(outcomes),
                        "statuses": statuses, "rule_ids": rules, "wall_s": round(worker_s, 2),
                        "decisions_per_s": round(decided / worker_s),
                        "sends_per_s": round(outcomes.get("sent", 0) / worker_s),
                        "per_worker_claimed": [p.claimed for p in passes], "peak_rss_mb": peak_rss_mb()}
    for e in engines:
        await e.dispose()
    return result


def bench_one(backend: str, reminders: int, workers: int, batch: int) -> dict:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            migrate(url)
            return asyncio.run(run(url, reminders, workers, batch))
    name = f"bench_outreach_{os.getpid()}"
    asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
        migrate(url)
        return asyncio.run(run(url, reminders, workers, batch))
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def markdown(report: dict) -> str:
    measured = sorted(r.get("measured_at", report["measured_at"]) for r in report["runs"])
    lines = ["# Outreach: scheduling and gating due reminders", "",
             f"Measured {measured[0] if measured else report['measured_at']}"
             f"{' to ' + measured[-1] if len(set(measured)) > 1 else ''} on {report['machine']}, one run "
             f"per row (load average at the start of the last run {report['load_average']}; the "
             "machine is shared with other work, so treat figures as indicative).",
             "Clock frozen at 2026-03-10 04:00 UTC (12:00 Shanghai, 08:00 Dubai, 00:00 New York). "
             "`schedule`: one scheduler pass; `gate`: the pure gate alone; `worker`: claim, re-check "
             "in its own transaction, record with its audit event, deliver to the web conversation "
             "(no network). Each decision is one transaction (borrower lock, one read of the facts, "
             "the send history, the stored message, the conditional update and its audit event), so "
             "decisions/s is a rate of such transactions; sends/s counts only the reminders sent. "
             "\"Not yet due\": reminders whose local send time (10:00) had not come at the frozen "
             "clock; the worker leaves them pending. Peak RSS is the whole benchmark process so far "
             "(the generated data set included; after the schedule phase it was "
             + ", ".join(f"{r['backend']} {r['schedule']['peak_rss_mb']} MB" for r in report["runs"]) + ").", "",
             "| backend | reminders created | schedule s | created/s | 2nd pass s, traced (created) "
             "| gate evals/s | worker s | decisions/s | sends/s | sent / held / blocked / not yet due "
             "| peak RSS MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in report["runs"]:
        s, g, w = r["schedule"], r["gate_only"], r["worker"]
        st = w["statuses"]
        lines.append(
            f"| {r['backend']} ({w['workers']} worker{'s' if w['workers'] > 1 else ''}) | {s['created']:,} "
            f"| {s['wall_s']} | {s['reminders_per_s']:,} | {s['second_pass_s_traced']} ({s['second_pass_created']}) "
            f"| {g['evaluations_per_s']:,} | {w['wall_s']} | {w['decisions_per_s']:,} | {w['sends_per_s']:,} "
            f"| {st.get('sent', 0):,} / {st.get('held', 0):,} / {st.get('blocked', 0):,} / {st.get('pending', 0):,} "
            f"| {w['peak_rss_mb']} |")
    lines.append("")
    for r in report["runs"]:
        lines.append(f"- {r['backend']}, {r['worker']['workers']} worker(s), measured {r.get('measured_at', '?')}: hold/block rule ids {r['worker']['rule_ids']}; "
                     f"tracemalloc peak of a scheduler pass {r['schedule']['second_pass_tracemalloc_peak_mb']} MB; "
                     f"data load {r['load_s']} s; claims per worker {r['worker']['per_worker_claimed']}.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1", help="comma-separated worker counts, e.g. 1,2")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--out", default=str(RESULTS / "outreach"), help="results path without suffix")
    parser.add_argument("--append", action="store_true", help="keep the runs already in --out")
    args = parser.parse_args()
    report = {"measured_at": _now(),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "load_average": [round(x, 2) for x in os.getloadavg()], "runs": []}
    out = Path(args.out)
    if args.append and out.with_suffix(".json").exists():
        report["runs"] = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["runs"]
    for backend in args.backends.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            print(f"{backend} {args.reminders:,} reminders, {workers} worker(s) …", flush=True)
            report["runs"].append({"backend": backend, "measured_at": _now(),
                                   **bench_one(backend, args.reminders, workers, args.batch)})
            write(report, out)  # after every run: a long benchmark keeps what it measured
    print(markdown(report))


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def write(report: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n",
                                        encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")


if __name__ == "__main__":
    main()
