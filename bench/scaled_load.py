"""Scaled-topology load benchmark: the concurrent-borrower load of bench/gateway_load.py
on the scaled topology (issue 8), with 1 and then 2 Rasa instances.

Run with `.venv/bin/python bench/scaled_load.py` (or `make bench`; it needs PostgreSQL and
Redis, and says so and writes nothing without them). Writes bench/results/scaled_load.json
and scaled_load.md. Every figure is measured in this run on this machine.

* The stack is started with devstack's scaled specs, as `make run-scaled` starts it: two
  api processes (PostgreSQL, Redis event bus), one action server, one or two Rasa
  instances (PostgreSQL tracker store, Redis lock store), an outreach worker; fresh
  databases, dropped afterwards. The same model, the same settings, both variants.
* Borrowers are spread over the two api processes (borrower i talks to api i mod 2, as a
  load balancer would) and hold gateway_load's conversation (greeting, amount due,
  identity, thanks); its load generator is imported, not copied: a turn is one POST
  …/messages, errors are non-200, transport failures and the apology (a turn that missed
  the RASA_TIMEOUT_SECONDS deadline), after which that borrower stops.
* For N = 50 and 200 concurrent conversations: turns answered, errors, p50/p95/p99,
  answered turns per second; the throughput ratio 2 Rasa / 1 Rasa; resident memory (RSS)
  of every process after the load.
"""

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gateway_load import SCRIPT, Run, gateway_borrower, machine, open_session  # noqa: E402

from api.manage import init_db  # noqa: E402
from devstack.config import ROOT as STACK_ROOT, StackConfig  # noqa: E402
from devstack.model import ensure_model  # noqa: E402
from devstack.scaled import BackingServiceError, check_postgres, check_redis, drop_database, prepare  # noqa: E402
from devstack.supervisor import Stack, service_specs  # noqa: E402
from tests.conftest import free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LOADS = (50, 200)
CLIENT_TIMEOUT = 60.0
POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def _database_url(name: str) -> str:
    return POSTGRES_SERVER.rsplit("/", 1)[0] + "/" + name


async def measure(api_urls: list[str], borrowers: int, run: Run) -> float:
    """One round: `borrowers` conversations at once, spread over the api processes."""
    per_api = borrowers // len(api_urls) + 10
    limits = httpx.Limits(max_connections=per_api, max_keepalive_connections=per_api)
    clients = [httpx.AsyncClient(base_url=url, timeout=CLIENT_TIMEOUT, limits=limits) for url in api_urls]
    try:
        sessions = await asyncio.gather(*(open_session(clients[i % len(clients)]) for i in range(borrowers)))
        began = time.perf_counter()
        await asyncio.gather(*(
            gateway_borrower(clients[i % len(clients)], i, run, cid, auth)
            for i, (cid, auth) in enumerate(sessions)
        ))
        return time.perf_counter() - began
    finally:
        for client in clients:
            await client.aclose()


def memory(stack: Stack) -> dict[str, float]:
    """RSS in MiB per service, its children included (Sanic may fork)."""
    found = {}
    for svc in stack.running:
        try:
            proc = psutil.Process(svc.process.pid)
            rss = proc.memory_info().rss + sum(
                c.memory_info().rss for c in proc.children(recursive=True))
        except psutil.NoSuchProcess:
            continue
        found[svc.spec.name] = round(rss / 2**20, 1)
    return found


def start(var_dir: Path, rasa_instances: int, rasa_timeout: float | None) -> tuple[StackConfig, Path, Stack, str]:
    name = f"ra_bench_scaled_{uuid.uuid4().hex[:8]}"
    salt = secrets.token_hex(16)
    env = {
        "DATABASE_URL": _database_url(name),
        "REDIS_URL": REDIS_URL,
        "EVENT_BUS_CHANNEL": f"bench-hints:{name}",
        "ID_HASH_SALT": salt,
        "SERVICE_TOKEN": secrets.token_hex(16),
        "RASA_TOKEN": secrets.token_hex(16),
        "CHAT_MESSAGES_PER_MINUTE": "60",
    }
    if rasa_timeout is not None:
        env["RASA_TIMEOUT_SECONDS"] = str(rasa_timeout)
    config = StackConfig(
        scaled=True, rasa_instances=rasa_instances,
        api_port=free_port(), api2_port=free_port(), rasa_port=free_port(), rasa2_port=free_port(),
        actions_port=free_port(), var_dir=var_dir, models_dir=STACK_ROOT / "var" / "models",
        rasa_tracker_database=f"{name}_rasa", extra_env=env,
    )
    prepare(config)
    init_db(config.database_url, salt)
    model = ensure_model(config.models_dir)
    return config, model, Stack(config, service_specs(config, model=model)), name


async def load(api_urls: list[str], loads: tuple[int, ...], rounds: int) -> list[dict]:
    await measure(api_urls, 2, Run())  # warm-up: every code path once, on both api processes
    rows = []
    for borrowers in loads:
        run, wall = Run(), 0.0
        for _ in range(rounds):
            wall += await measure(api_urls, borrowers, run)
        row = run.summary(wall, borrowers, rounds)
        print(f"   N={borrowers:>3}: {row}", flush=True)
        rows.append(row)
    return rows


def variant(rasa_instances: int, loads: tuple[int, ...], rounds: int, rasa_timeout: float | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="scaled-load-") as tmp:
        config, model, stack, name = start(Path(tmp), rasa_instances, rasa_timeout)
        try:
            began = time.monotonic()
            with stack:
                startup = time.monotonic() - began
                print(f">> {rasa_instances} Rasa: stack up in {startup:.0f}s "
                      f"(api {config.api_urls}, rasa {config.rasa_urls})", flush=True)
                load_before = os.getloadavg()
                rows = asyncio.run(load(config.api_urls, loads, rounds))
                load_after = os.getloadavg()
                rss = memory(stack)
        finally:
            for database in (name, f"{name}_rasa"):
                drop_database(POSTGRES_SERVER, database)
    return {
        "rasa_instances": rasa_instances, "model": model.name, "startup_s": round(startup, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "rows": rows, "rss_mib": rss,
    }


def ratios(one: dict, two: dict) -> list[dict]:
    found = []
    for a, b in zip(one["rows"], two["rows"]):
        found.append({
            "borrowers": a["borrowers"],
            "throughput_ratio": round(b["messages_per_s"] / a["messages_per_s"], 2)
            if a["messages_per_s"] and b["messages_per_s"] else None,
            "p95_ratio": round(b["p95_ms"] / a["p95_ms"], 2) if a["p95_ms"] and b["p95_ms"] else None,
        })
    return found


def markdown(result: dict) -> str:
    m, s = result["machine"], result["settings"]
    lines = [
        "# Scaled topology: 1 vs 2 Rasa instances under concurrent borrowers",
        "",
        f"Measured {result['date']} on {m['cpu']} ({m['cores']} cores), Python {m['python']}, "
        f"commit {m['git_commit']}, model {result['variants'][0]['model']}. "
        f"`RASA_TIMEOUT_SECONDS` = {s['rasa_timeout_seconds']}; rounds per N: {s['rounds']}"
        f"{' (reduced run: ' + s['reduced'] + ')' if s['reduced'] else ''}.",
        "",
        "Topology (devstack scaled specs, as `make run-scaled`): 2 api processes on PostgreSQL with "
        "the Redis event bus, 1 action server, an outreach worker, and 1 or 2 Rasa instances "
        "(PostgreSQL tracker store, Redis lock store; the api spreads turns round-robin). "
        "Borrower i talks to api i mod 2. Conversation per borrower (gateway_load's): "
        + " / ".join(SCRIPT).replace("{identity}", "name + ID last 4 + birth date") + ". "
        "Errors: non-200, transport failure, or the apology for a turn that missed the deadline "
        "(the borrower's remaining turns are then not sent).",
        "",
        "| Rasa | N | turns ok / planned | errors | p50 ms | p95 ms | p99 ms | answered turns/s | load avg before → after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in result["variants"]:
        for r in v["rows"]:
            kinds = ", ".join(f"{k} {n}" for k, n in r["error_kinds"].items())
            lines.append(
                f"| {v['rasa_instances']} | {r['borrowers']} | {r['turns_ok']} / {r['turns_planned']} | "
                f"{r['errors']}{f' ({kinds})' if kinds else ''} | {r['p50_ms']} | {r['p95_ms']} | "
                f"{r['p99_ms']} | {r['messages_per_s']} | {v['load_average_before'][0]} → "
                f"{v['load_average_after'][0]} |"
            )
    lines += ["", "| N | throughput 2 Rasa / 1 Rasa | p95 2 Rasa / 1 Rasa |", "|---|---|---|"]
    for r in result["ratios"]:
        lines.append(f"| {r['borrowers']} | {r['throughput_ratio']} | {r['p95_ratio']} |")
    previous = result.get("previous_run")
    if previous:
        lines += ["", f"The run before this one ({previous['date']}, rounds per N: {previous['rounds']}, "
                  f"load average {previous['load_average']}) measured, for N = "
                  + ", ".join(f"{r['borrowers']}: throughput ratio {r['throughput_ratio']}, p95 ratio "
                              f"{r['p95_ratio']}" for r in previous["ratios"])
                  + " — the spread between runs on this shared 2-core machine."]
    lines += ["", "Resident memory after the load (MiB, a process with its children):", "",
              "| service | 1 Rasa | 2 Rasa |", "|---|---|---|"]
    one, two = (v["rss_mib"] for v in result["variants"])
    for service in sorted(set(one) | set(two)):
        lines.append(f"| {service} | {one.get(service, '—')} | {two.get(service, '—')} |")
    lines += [
        "",
        "Notes:",
        f"- This machine has {m['cores']} CPU cores for everything: both api processes, the "
        "action server, the outreach worker, PostgreSQL, Redis, the load generator and the "
        "Rasa instances. A Rasa process runs its turns on one Python event loop, so one "
        "instance uses at most about one core; a second instance can use the other core only "
        "as far as the rest of the stack leaves it free — the two Rasa processes compete with "
        "each other and with everything else for the same two cores. The ratios above are what "
        "a second instance bought on this 2-core machine, not a prediction for larger hosts.",
        "- Answered turns/s counts turns answered in time over the round's wall time; a "
        "borrower whose turn ended in the apology sends no more turns, so rows with many "
        "errors also attempted fewer turns.",
        "- A turn slower than the Rasa deadline becomes the apology plus a handoff and counts as "
        "an error, not a latency sample, so rows with errors have percentiles biased low. "
        "Answered turns slower than the deadline spent the rest of their time outside the "
        "Rasa call (in the api processes, or queued on the way to them); this run does not "
        "break that down.",
        "- Each variant starts its own stack (fresh databases); the machine may be shared with "
        "other work (load averages above), so single figures move by tens of percent between "
        "runs.",
        "",
    ]
    return "\n".join(lines)


def previous_run(path: Path) -> dict | None:
    """The last run's ratios, kept beside the new ones: they show the run-to-run spread."""
    try:
        old = json.loads(path.read_text())
        return {
            "date": old["date"], "rounds": old["settings"]["rounds"], "ratios": old["ratios"],
            "load_average": [v["load_average_before"][0] for v in old["variants"]],
        }
    except (OSError, ValueError, KeyError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa-timeout", type=float, default=None,
                        help="RASA_TIMEOUT_SECONDS for the api (default: the api's own, 3.5)")
    parser.add_argument("--loads", default=",".join(map(str, LOADS)),
                        help="comma-separated concurrent conversations (default 50,200)")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    loads = tuple(int(n) for n in args.loads.split(","))
    try:
        check_postgres(POSTGRES_SERVER)
        check_redis(REDIS_URL)
    except BackingServiceError as exc:
        print(f"scaled_load skipped: {exc}")
        return
    variants = [variant(n, loads, args.rounds, args.rasa_timeout) for n in (1, 2)]
    reduced = [] if loads == LOADS else [f"N = {args.loads} instead of {','.join(map(str, LOADS))}"]
    result = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "settings": {
            "rasa_timeout_seconds": args.rasa_timeout if args.rasa_timeout is not None else 3.5,
            "loads": list(loads), "rounds": args.rounds, "reduced": "; ".join(reduced),
            "script": list(SCRIPT), "api_processes": 2,
            "database": "PostgreSQL (api and Rasa tracker store)", "redis": "event bus + Rasa lock store",
        },
        "variants": variants,
        "ratios": ratios(*variants),
    }
    result["previous_run"] = previous_run(RESULTS / "scaled_load.json")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scaled_load.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    (RESULTS / "scaled_load.md").write_text(markdown(result))
    print((RESULTS / "scaled_load.md").read_text())


if __name__ == "__main__":
    main()
