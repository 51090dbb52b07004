"""Quote benchmark: the policy engine in-process, and the quote endpoint over real HTTP.

Run with `.venv/bin/python bench/quotes.py`. Writes bench/results/quotes.json and
quotes.md. Every figure is measured in this run on this machine; nothing is estimated.

* In-process: pricing every option for one loan (the 张伟 demo loan) and building the
  stored terms snapshot with its hash — what POST …/quotes computes before touching the
  database. RUNS timed runs after a warm-up.
* HTTP: uvicorn (one worker) started as a subprocess on a free loopback port against a
  fresh, migrated and seeded database — SQLite file and a new PostgreSQL database — then
  POST /internal/v1/conversations/{id}/quotes (all options: 7 quotes and 7 audit events
  per request) from 1 client and from 32 concurrent clients, a bounded number each.
"""

import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.agreements.terms import option_terms, terms_hash  # noqa: E402
from api.loans.models import Loan  # noqa: E402
from api.offers import LoanPosition, options_for, policy_for_product  # noqa: E402
from api.seed import DEMO_BORROWERS, DEMO_PRODUCT, DEMO_RATE_BP  # noqa: E402
from tests.conftest import POSTGRES_URL, free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results"
RUNS = 200
WARMUP = 20
SERVICE_TOKEN = "bench-service-token"
SALT = "bench-salt"
ZHANG = {"full_name": "张伟", "id_last4": "1234", "birth_date": "1990-03-07"}
# (concurrent clients, requests per client): bounded counts.
HTTP_LOADS = ((1, 200), (32, 20))


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 2), "p95_ms": round(cuts[94], 2)}


def in_process() -> dict:
    demo = DEMO_BORROWERS[0]
    today = date.today()
    loan = Loan(
        id=1, borrower_id=1, contract_no=demo.contract_no, product_name=DEMO_PRODUCT,
        principal_fen=demo.principal_fen, contract_rate_bp=DEMO_RATE_BP,
        contract_date=today - timedelta(days=demo.days_past_due + 180),
        due_date=today - timedelta(days=demo.days_past_due),
        outstanding_principal_fen=demo.outstanding_principal_fen,
        outstanding_interest_fen=demo.interest_fen,
        penalty_interest_fen=demo.penalty_interest_fen, fees_fen=demo.fees_fen,
    )
    policy = policy_for_product(DEMO_PRODUCT)

    def once() -> int:
        position = LoanPosition.from_loan(loan, as_of=today)
        offer = options_for(position, policy, today=today, hardship_reason="job_loss")
        for option in offer.eligible:
            terms_hash(option_terms(option, position=position, policy=policy, loan=loan,
                                    conversation_id="bench", hardship_reason="job_loss"))
        return len(offer.eligible)

    for _ in range(WARMUP):
        once()
    samples, quotes = [], 0
    for _ in range(RUNS):
        started = time.perf_counter()
        quotes = once()
        samples.append((time.perf_counter() - started) * 1000)
    return {"runs": RUNS, "quotes_per_run": quotes, **percentiles(samples)}


def pg_admin(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""), timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def start_api(database_url: str, scratch: Path) -> tuple[subprocess.Popen, str]:
    """Migrate + seed a fresh database, then start uvicorn on it; its stderr goes to a
    file in `scratch` (a pipe nobody reads would block the server once full)."""
    env = {**os.environ, "DATABASE_URL": database_url, "SERVICE_TOKEN": SERVICE_TOKEN,
           "ID_HASH_SALT": SALT, "ENVIRONMENT": "development"}
    subprocess.run([sys.executable, "-m", "api.manage", "init-db"], cwd=scratch, env={
        **env, "PYTHONPATH": str(ROOT)}, check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    log = open(scratch / "api-stderr.log", "ab")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
    )
    log.close()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"api exited: {(scratch / 'api-stderr.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    stop_api(proc)
    raise SystemExit("api did not become healthy within 60 s")


def stop_api(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def verified_conversation(http: httpx.AsyncClient) -> str:
    chat = (await http.post("/api/v1/chat/sessions", json={"channel": "web"})).json()
    conversation_id = chat["conversation_id"]
    verified = await http.post(
        f"/internal/v1/conversations/{conversation_id}/identity-verification", json=ZHANG
    )
    if not verified.json().get("verified"):
        raise SystemExit(f"verification failed: {verified.text}")
    return conversation_id


async def http_load(base: str, clients: int, per_client: int) -> dict:
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as http:
        conversation_id = await verified_conversation(http)
        url = f"/internal/v1/conversations/{conversation_id}/quotes"
        for _ in range(5):  # warm-up
            (await http.post(url, json={})).raise_for_status()
        samples: list[float] = []
        errors: dict[str, int] = {}

        async def worker() -> None:
            for _ in range(per_client):
                started = time.perf_counter()
                try:
                    outcome = str((await http.post(url, json={})).status_code)
                except httpx.TransportError as exc:
                    outcome = type(exc).__name__
                samples.append((time.perf_counter() - started) * 1000)
                if outcome != "201":
                    errors[outcome] = errors.get(outcome, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - started
    return {
        "clients": clients, "requests": clients * per_client, "errors": errors,
        **percentiles(samples), "requests_per_second": round(clients * per_client / wall, 1),
    }


def logged_exceptions(log: Path) -> dict[str, int]:
    """Database exceptions in the api's stderr (SQLAlchemy's wrapper line of each
    traceback, so a chained driver error is counted once): what the 5xx answers were."""
    counts: dict[str, int] = {}
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    for line in lines:
        if line.startswith("sqlalchemy.exc."):
            key = line.split(" [SQL:")[0][:120]
            counts[key] = counts.get(key, 0) + 1
    return counts


def backend_run(name: str, database_url: str, scratch: Path) -> dict:
    proc, base = start_api(database_url, scratch)
    try:
        loads = [asyncio.run(http_load(base, clients, n)) for clients, n in HTTP_LOADS]
        rss_mb = round(psutil.Process(proc.pid).memory_info().rss / 2**20, 1)
    finally:
        stop_api(proc)
    log = scratch / "api-stderr.log"
    exceptions = logged_exceptions(log)
    log.unlink(missing_ok=True)
    return {"backend": name, "loads": loads, "api_rss_mb_after": rss_mb,
            "api_logged_exceptions": exceptions}


def http_runs(scratch: Path) -> list[dict]:
    runs = [backend_run("sqlite", f"sqlite+aiosqlite:///{scratch / 'bench.db'}", scratch)]
    database = f"ra_bench_{uuid.uuid4().hex[:10]}"
    pg_admin(f'CREATE DATABASE "{database}"')
    try:
        pg_url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{database}"
        runs.append(backend_run("postgresql", pg_url, scratch))
    finally:
        pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return runs


def _cell(load: dict) -> str:
    errors = ", ".join(f"{n}× {kind}" for kind, n in sorted(load["errors"].items()))
    cell = f"{load['p50_ms']} / {load['p95_ms']} ms, {load['requests_per_second']} req/s"
    return f"{cell}, errors: {errors}" if errors else cell


def _table(runs: list[dict]) -> str:
    lines = [
        "| clients | requests | " + " | ".join(run["backend"] for run in runs) + " |",
        "|---|---|" + "---|" * len(runs),
    ]
    for clients, per_client in HTTP_LOADS:
        loads = [next(x for x in run["loads"] if x["clients"] == clients) for run in runs]
        cells = " | ".join(_cell(load) for load in loads)
        lines.append(f"| {clients} | {clients * per_client} | {cells} |")
    return "\n".join(lines)


def write_markdown(result: dict) -> None:
    engine, runs = result["in_process"], result["http"]
    logged = "\n".join(
        f"- {run['backend']}: {run['api_logged_exceptions'] or 'none'}" for run in runs
    )
    (RESULTS / "quotes.md").write_text(
        f"""# Quote benchmark ({result['measured_at']})

Machine: {result['machine']}. One run of `bench/quotes.py`; every figure measured.

In-process (policy engine + terms snapshot + SHA-256, {engine['quotes_per_run']} quotes for
one loan, no database): p50 {engine['p50_ms']} ms, p95 {engine['p95_ms']} ms over
{engine['runs']} runs.

`POST /internal/v1/conversations/{{id}}/quotes` over HTTP on loopback (uvicorn, one
worker; each request stores {engine['quotes_per_run']} quotes and as many audit events).
Latency p50 / p95 (failed requests included) and throughput:

{_table(runs)}

Exceptions in the api's log during the run (the cause of any 500; a ReadError is a
keep-alive connection uvicorn closed after such an exception):
{logged}
""",
        encoding="utf-8",
    )


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-quotes-") as tmp:
        result = {
            "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                       f"{round(psutil.virtual_memory().total / 2**30)} GiB, "
                       f"Python {platform.python_version()}",
            "in_process": in_process(),
            "http": http_runs(Path(tmp)),
        }
    (RESULTS / "quotes.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    write_markdown(result)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
