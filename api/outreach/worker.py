"""The outreach worker: schedule, claim due reminders, gate them at send time, deliver.

Embedded default: the api's lifespan runs `run_forever` (OUTREACH_SCHEDULER=embedded).
Scaled: `python -m api.outreach.worker [--once]` in any number of processes
(OUTREACH_SCHEDULER=external on the api). Each pass schedules (idempotent), then claims
and processes batches until nothing is due. Never a double send, whatever runs at once:
see api/outreach/sending.py (claims with a lease and SKIP LOCKED; one transaction per
send that re-checks every rule under the borrower's lock and writes only while it still
holds the claim).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core.db import utcnow
from api.core.events import EventBus
from api.gateway.hints import announce
from api.gateway.rasa_client import RasaClient
from api.gateway.wechat.client import WeChatApiClient
from api.outreach.models import OutreachStatus
from api.outreach.context import seed_reply_context
from api.outreach.promises import reconcile_promises
from api.outreach.scheduler import schedule_reminders
from api.outreach.sending import (  # noqa: F401  (re-exported: the worker's steps)
    Decided,
    LostClaim,
    claim_due,
    claim_rows,
    decide_and_record,
    push_and_record,
    record_error,
    release_claims,
)
from api.outreach.templates import load_templates

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:64]


@dataclass
class PassReport:
    scheduled: int = 0
    claimed: int = 0
    promise_tasks: int = 0  # broken promises handed to collectors in this pass
    outcomes: Counter = field(default_factory=Counter)  # sent / held / blocked / ...

    def as_dict(self) -> dict:
        return {"scheduled": self.scheduled, "claimed": self.claimed,
                "promise_tasks": self.promise_tasks, **dict(self.outcomes)}


# ---- the loop -------------------------------------------------------------------------


@dataclass
class OutreachWorker:
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: object
    wechat: WeChatApiClient | None = None
    events: EventBus | None = None
    # Told about every sent reminder, so the borrower's reply continues from it
    # (api/outreach/context.py). None: replies get the bot's ordinary answer.
    rasa: RasaClient | None = None
    worker_id: str = field(default_factory=default_worker_id)
    clock: Callable[[], datetime] = utcnow
    schedule: bool = True  # every worker may schedule: source_key keeps it idempotent

    def __post_init__(self) -> None:
        self.templates = load_templates(self.settings)  # refuses a bad template file now

    async def run_once(self, stop: asyncio.Event | None = None) -> PassReport:
        """One pass: schedule, then claim and process batches until nothing is due (or
        `stop` is set: the rest of the batch is released for the next worker)."""
        report = PassReport()
        if self.schedule:
            async with self.sessionmaker.begin() as session:
                report.scheduled = (await schedule_reminders(
                    session, now=self.clock(), settings=self.settings)).created
            # Its own transaction: it takes loan locks before its first audit event, the
            # order payments take them in (no deadlock against a payment).
            async with self.sessionmaker.begin() as session:
                promises = await reconcile_promises(session, now=self.clock(), settings=self.settings)
            report.promise_tasks = promises.tasks_opened
            if self.events is not None:
                for conversation_id in promises.task_conversation_ids:
                    announce(self.events, conversation_id, message_id=None, queue_changed=True)
        while True:
            async with self.sessionmaker.begin() as session:
                claimed = await claim_rows(
                    session, worker_id=self.worker_id, now=self.clock(),
                    limit=self.settings.outreach_batch_size,
                    lease_seconds=self.settings.outreach_claim_lease_seconds,
                )
            report.claimed += len(claimed)
            for index, (outreach_id, borrower_id) in enumerate(claimed):
                if stop is not None and stop.is_set():
                    async with self.sessionmaker.begin() as session:
                        await release_claims(session, worker_id=self.worker_id, now=self.clock(),
                                             ids=[row_id for row_id, _ in claimed[index:]])
                    return report
                report.outcomes[await self._process_safely(outreach_id, borrower_id)] += 1
            if len(claimed) < self.settings.outreach_batch_size:
                return report

    async def _process_safely(self, outreach_id: int, borrower_id: int) -> str:
        try:
            return await self.process(outreach_id, borrower_id=borrower_id)
        except Exception as exc:  # recorded on the row and audited; the batch goes on
            log.exception("outreach %s failed (worker %s)", outreach_id, self.worker_id)
            await record_error(self.sessionmaker, outreach_id=outreach_id, worker_id=self.worker_id,
                               error=f"{type(exc).__name__}: {exc}", now=self.clock(),
                               settings=self.settings)
            return "error"

    async def process(self, outreach_id: int, *, borrower_id: int | None = None) -> str:
        """Decide, record and deliver one claimed reminder; returns the outcome's name."""
        try:
            decided = await decide_and_record(
                self.sessionmaker, outreach_id=outreach_id, worker_id=self.worker_id,
                now=self.clock(), settings=self.settings, templates=self.templates,
                borrower_id=borrower_id,
            )
        except LostClaim:
            return "lost"
        if decided.status is None:
            return "lost"
        if decided.status == OutreachStatus.SENT and self.rasa is not None:
            # Never raises: a Rasa failure is recorded on the row and audited.
            await seed_reply_context(self.sessionmaker, rasa=self.rasa, settings=self.settings,
                                     outreach_id=outreach_id)
        if not decided.push:
            if decided.status == OutreachStatus.SENT and self.events is not None:
                announce(self.events, decided.conversation_id, message_id=decided.message_id)
            return str(decided.status)
        result = await push_and_record(
            self.sessionmaker, outreach_id=outreach_id, settings=self.settings,
            templates=self.templates, wechat=self.wechat, events=self.events, now=self.clock(),
        )
        return "delivery_failed" if result.failed else str(decided.status)

    async def run_forever(self, stop: asyncio.Event, *, first_delay: float | None = None) -> None:
        """Passes every OUTREACH_SCAN_INTERVAL_SECONDS until `stop` is set. A failing pass
        is logged with its traceback and the next one runs: claimed rows of a crashed pass
        are claimable again after their lease."""
        interval = self.settings.outreach_scan_interval_seconds
        if await _wait(stop, interval if first_delay is None else first_delay):
            return
        while not stop.is_set():
            try:
                report = await self.run_once(stop)
                if report.claimed or report.scheduled:
                    log.info("outreach pass %s: %s", self.worker_id, report.as_dict())
            except Exception:
                log.exception("outreach pass failed (worker %s)", self.worker_id)
            if await _wait(stop, interval):
                return


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True when `stop` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
        return True
    except TimeoutError:
        return False


# ---- python -m api.outreach.worker ----------------------------------------------------


async def _check() -> int:
    """Health check (the compose service's): the database answers and holds the
    outreach table. 0 healthy, 1 not (with the reason on stderr)."""
    from sqlalchemy import func, select

    from api.core.config import get_settings
    from api.core.db import make_engine
    from api.outreach.models import OutreachMessage

    engine = make_engine(get_settings().database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(select(func.count()).select_from(OutreachMessage).limit(1))
        return 0
    except Exception as exc:  # any failure means unhealthy; say which
        print(f"outreach worker unhealthy: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()


async def _main(once: bool) -> None:
    from api.core.config import get_settings
    from api.core.db import make_engine, make_sessionmaker
    from api.core.events import make_event_bus
    from api.gateway.rasa_client import build_rasa_http
    from api.gateway.wechat.client import build_wechat_http

    settings = get_settings()
    engine = make_engine(settings.database_url)
    wechat_http = build_wechat_http(settings)
    rasa_urls = settings.rasa_instances
    rasa_http = build_rasa_http(base_url=rasa_urls[0], timeout_seconds=settings.rasa_timeout_seconds,
                                instances=len(rasa_urls))
    # With REDIS_URL the hints reach the api processes' live streams at once; without it
    # (in-process bus) a web page shows the reminder on its stream's next database
    # re-read, at most CHAT_STREAM_KEEPALIVE_SECONDS later.
    events = make_event_bus(settings.redis_url, channel=settings.event_bus_channel)
    await events.start()
    worker = OutreachWorker(
        sessionmaker=make_sessionmaker(engine),
        settings=settings,
        wechat=WeChatApiClient(wechat_http, app_id=settings.wechat_app_id,
                               app_secret=settings.wechat_app_secret.get_secret_value()),
        events=events,
        rasa=RasaClient(rasa_http, urls=rasa_urls),
    )
    try:
        if once:
            print(json.dumps((await worker.run_once()).as_dict(), ensure_ascii=False))
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("outreach worker %s started", worker.worker_id)
        await worker.run_forever(stop, first_delay=0)
    finally:
        await events.close()
        await wechat_http.aclose()
        await rasa_http.aclose()
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m api.outreach.worker",
        description="Schedule and send outreach reminders within the contact rules (issue 9).",
    )
    parser.add_argument("--once", action="store_true", help="run one pass and exit (prints its counts)")
    parser.add_argument("--check", action="store_true",
                        help="health check: exit 0 when the database and outreach table answer")
    args = parser.parse_args(argv)
    if args.check:
        sys.exit(asyncio.run(_check()))
    from api.core.config import get_settings
    from api.core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)  # JSON lines, PII masked
    asyncio.run(_main(args.once))


if __name__ == "__main__":
    main()
