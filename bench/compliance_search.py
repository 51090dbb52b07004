"""Benchmark (not a test): compliance free-text search and flag computation over
10k / 100k messages on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm GIN).

    .venv/bin/python bench/compliance_search.py [--sizes 10000,100000]
                                                [--backends sqlite,postgresql] [--repeat 20]

Each run builds a fresh migrated database and inserts conversations of 10 messages of
generated Chinese chat text (through the ORM tables, so the SQLite triggers index every
row as the gateway's writes would). Then, per query, `api.compliance.search.search` (one
page of 20, with its total count) is timed `--repeat` times; flag computation is timed
per conversation (`flag_cache.refresh`: load facts, evaluate, store) over a sample of 200
conversations, and `flags.evaluate` alone over every conversation in memory.
Writes bench/results/compliance_search.json and .md. Every figure is measured.
"""

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from api.compliance import flag_cache, flags  # noqa: E402
from api.compliance.search import SearchFilters, search  # noqa: E402
from api.core.db import make_engine, make_sessionmaker  # noqa: E402
from api.gateway.models import Conversation, Message  # noqa: E402
from api.manage import migrate  # noqa: E402

RESULTS = ROOT / "bench" / "results"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
PER_CONVERSATION = 10
BORROWER = ["你好", "我欠多少钱", "每月只能还{n}", "我想分期还款", "能不能晚{d}天还", "工资下个月{d}号发",
            "这笔钱不是我借的", "我已经委托律师处理这笔借款了", "我要投诉你们", "好的，谢谢", "确认",
            "我的电话是138{n:08d}", "最近生病住院了，手头很紧"]
BOT = ["您目前共需还款 ¥{n},250.00，已逾期 {d} 天。", "可以分{d}期，每月还 ¥{n}.00。", "好的，已为您记录。",
       "为保护您的隐私，告知任何账户信息前需要先核实身份。", "明白了，我为您转接人工客服。"]
QUERIES = {"不是我借的": "5-char phrase, ~1 in 13 borrower messages",
           "委托律师处理": "6-char phrase", "分期还款": "4-char, common",
           "律师": "2-char: scan fallback", "委托律师 借款": "4-char + 2-char: index then filter",
           "住院 手头很紧": "2-char + 4-char: index then filter"}


def rows(size: int, rng: random.Random):
    conversations, messages = [], []
    for c in range(size // PER_CONVERSATION):
        cid = str(uuid.UUID(int=rng.getrandbits(128)))
        started = START + timedelta(minutes=c)
        conversations.append({"id": cid, "channel": "web" if c % 3 else "wechat", "state": "bot",
                              "session_token_hash": "0" * 64, "created_at": started,
                              "verification_failures": 0})
        for i in range(PER_CONVERSATION):
            pool, sender = (BORROWER, "borrower") if i % 2 else (BOT, "bot")
            text = rng.choice(pool).format(n=rng.randint(1, 9999), d=rng.randint(1, 30))
            messages.append({"conversation_id": cid, "sender": sender, "text": text, "status": "sent",
                             "template": None if sender == "borrower" else "rasa",
                             "created_at": started + timedelta(seconds=i)})
    return conversations, messages


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


async def run(url: str, size: int, repeat: int) -> dict:
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    conversations, messages = rows(size, random.Random(size))
    t = time.perf_counter()
    async with sessionmaker.begin() as session:
        await session.execute(insert(Conversation), conversations)
        for start in range(0, len(messages), 10_000):
            await session.execute(insert(Message), messages[start:start + 10_000])
    insert_s = time.perf_counter() - t
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE messages")
    result = {"messages": len(messages), "conversations": len(conversations), "insert_s": round(insert_s, 2),
              "search": {}, "flags": {}}
    async with sessionmaker() as session:
        for q, what in QUERIES.items():
            samples, total = [], 0
            for _ in range(repeat):
                t = time.perf_counter()
                page = await search(session, filters=SearchFilters(q=q), page_size=20)
                samples.append(time.perf_counter() - t)
                total = page.total
            result["search"][q] = {"what": what, "mode": page.text_mode, "matches": total,
                                   "p50_ms": pct(samples, 0.5), "p95_ms": pct(samples, 0.95)}
        sample = [c["id"] for c in conversations[:: max(1, len(conversations) // 200)]][:200]
        per = []
        for cid in sample:
            conversation = await session.get(Conversation, cid)
            t = time.perf_counter()
            await flag_cache.refresh(session, conversation)
            per.append(time.perf_counter() - t)
        await session.commit()
        all_messages = (await session.scalars(select(Message).order_by(Message.id))).all()
        by_conv: dict[str, list] = {}
        for m in all_messages:
            by_conv.setdefault(m.conversation_id, []).append(m)
        convs = {c.id: c for c in (await session.scalars(select(Conversation))).all()}
        t = time.perf_counter()
        raised = sum(len(flags.evaluate(flags.Facts(conversation=convs[cid], messages=ms)))
                     for cid, ms in by_conv.items())
        evaluate_s = time.perf_counter() - t
        result["flags"] = {"refresh_sample": len(per), "refresh_p50_ms": pct(per, 0.5),
                           "refresh_p95_ms": pct(per, 0.95), "evaluate_all_s": round(evaluate_s, 2),
                           "evaluate_messages_per_s": round(len(all_messages) / evaluate_s),
                           "flags_raised": raised}
    await engine.dispose()
    return result


async def pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def bench_one(backend: str, size: int, repeat: int) -> dict:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            migrate(url)
            return asyncio.run(run(url, size, repeat))
    name = f"bench_compliance_{os.getpid()}"
    asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
        migrate(url)
        return asyncio.run(run(url, size, repeat))
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def markdown(report: dict) -> str:
    lines = ["# Compliance search and flag computation", "",
             f"Measured {report['measured_at']} on {report['machine']} (load average at start "
             f"{report['load_average']}; the machine is shared, so treat figures as indicative).",
             "Search: one page of 20 conversations plus the total count, "
             f"{report['repeat']} runs per query. Flags: `refresh` per conversation of 10 messages "
             "(load, evaluate, store) over a sample of 200; `evaluate` alone over all conversations.", ""]
    for run_ in report["runs"]:
        lines += [f"## {run_['backend']}, {run_['messages']:,} messages ({run_['conversations']:,} conversations)", "",
                  f"Insert (indexing included): {run_['insert_s']} s", "",
                  "| query | mode | matches | p50 ms | p95 ms |", "|---|---|---:|---:|---:|"]
        for q, r in run_["search"].items():
            lines.append(f"| {q} ({r['what']}) | {r['mode']} | {r['matches']} | {r['p50_ms']} | {r['p95_ms']} |")
        f = run_["flags"]
        lines += ["", f"Flags: refresh p50 {f['refresh_p50_ms']} ms, p95 {f['refresh_p95_ms']} ms per conversation; "
                  f"evaluate over all: {f['evaluate_all_s']} s ({f['evaluate_messages_per_s']:,} messages/s, "
                  f"{f['flags_raised']:,} flags).", ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    report = {"measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "load_average": [round(x, 2) for x in os.getloadavg()], "repeat": args.repeat, "runs": []}
    for backend in args.backends.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"{backend} {size:,} …", flush=True)
            report["runs"].append({"backend": backend, **bench_one(backend, size, args.repeat)})
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "compliance_search.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n",
                                                    encoding="utf-8")
    (RESULTS / "compliance_search.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))


if __name__ == "__main__":
    main()
