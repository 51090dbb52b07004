"""Prometheus metrics of the api, served at GET /metrics.

| metric | labels | counted where |
|---|---|---|
| `assistant_turn_seconds` (histogram) | channel, state | api/gateway/routing.py: one borrower message, from routing to the stored reply (Rasa and its actions included) |
| `assistant_rasa_errors_total` | operation (turn, pause, resume), kind (timeout, unavailable, http_error, bad_reply) | the gateway, when Rasa does not answer usably |
| `assistant_rasa_requests_total` | instance (Rasa base URL), operation (turn, control), outcome (answered, refused) | api/gateway/rasa_client.py: each request to each Rasa instance; refused = no connection, moved to the next instance (RASA_URLS) |
| `assistant_action_errors_total` | kind (api_unavailable) | the gateway, from the hand-off the action server sends when it could not use the api |
| `assistant_escalations_total` | reason (E1…E6, bot_failure, …) | api/gateway/escalation.py, each escalation opened |
| `assistant_agreements_total` | kind (extension, instalment, …) | api/agreements/accept.py, each agreement created |
| `assistant_guard_blocks_total` | rule_id | api/console/guard.py, each rule a blocked collector draft broke |

Counts of things that live in the database (escalations, agreements, guard blocks) are
added when the transaction commits (`count_on_commit`), so a rolled-back request counts
nothing.

Several api worker processes (the scaled topology) each count on their own; with
`PROMETHEUS_MULTIPROC_DIR` set in the environment of every worker (an empty, writable
directory, wiped before the workers start) prometheus_client keeps the values in files
there and /metrics adds up all workers. Without it, a plain in-process registry.
"""

import os
from collections.abc import Callable
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Header, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.deps import SettingsDep
from api.core.errors import NotAuthenticated, error_response_doc
from api.core.security import same_secret

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Turn latency: most turns take 0.1–1 s; the gateway gives Rasa 3.5 s before it apologises.
TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0)

TURN_SECONDS = Histogram(
    "assistant_turn_seconds",
    "Gateway time for one inbound borrower message (Rasa and actions included).",
    ["channel", "state"],
    buckets=TURN_BUCKETS,
)
RASA_ERRORS = Counter(
    "assistant_rasa_errors_total",
    "Calls to Rasa that got no usable answer.",
    ["operation", "kind"],
)
RASA_REQUESTS = Counter(
    "assistant_rasa_requests_total",
    "Requests to each Rasa instance: answered (any HTTP answer) or refused (no connection; "
    "the request went to the next instance).",
    ["instance", "operation", "outcome"],
)
ACTION_ERRORS = Counter(
    "assistant_action_errors_total",
    "Failures the action server reported in its hand-off (it could not use the api).",
    ["kind"],
)
ESCALATIONS = Counter(
    "assistant_escalations_total", "Escalations to a person opened, by reason code.", ["reason"]
)
AGREEMENTS = Counter(
    "assistant_agreements_total", "Agreements created from accepted quotes, by kind.", ["kind"]
)
GUARD_BLOCKS = Counter(
    "assistant_guard_blocks_total",
    "Rules broken by collector drafts the pre-send guard refused, by rule id.",
    ["rule_id"],
)

# Hand-off reason codes by which the action server says an action failed.
ACTION_FAILURE_REASONS = {"service_unavailable": "api_unavailable"}


def rasa_error_kind(error: BaseException) -> str:
    """Sort a BotUnavailable by what went wrong underneath it (the first __cause__ that
    is not itself a re-raised BotUnavailable)."""
    cause = error.__cause__
    while cause is not None and type(cause) is type(error):
        cause = cause.__cause__
    if isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return "unavailable"  # nothing listening, or no connection in time
    if isinstance(cause, (TimeoutError, httpx.TimeoutException)):
        return "timeout"
    if isinstance(cause, httpx.HTTPStatusError):
        return "http_error"
    if isinstance(cause, httpx.HTTPError):
        return "unavailable"  # connection dropped
    return "bad_reply"  # not JSON, or not the list of messages the REST channel sends


def count_rasa_error(operation: str, error: BaseException) -> None:
    RASA_ERRORS.labels(operation=operation, kind=rasa_error_kind(error)).inc()


def count_action_failure(reason_code: str) -> None:
    kind = ACTION_FAILURE_REASONS.get(reason_code)
    if kind is not None:
        ACTION_ERRORS.labels(kind=kind).inc()


_PENDING = "metrics.pending"


def count_on_commit(session: AsyncSession, increment: Callable[[], None]) -> None:
    """Run `increment` once the session's transaction commits; drop it on rollback."""
    sync = session.sync_session
    pending = sync.info.setdefault(_PENDING, [])
    pending.append(increment)
    if not event.contains(sync, "after_commit", _flush_pending):
        event.listen(sync, "after_commit", _flush_pending)
        event.listen(sync, "after_rollback", _drop_pending)


def _flush_pending(sync_session) -> None:
    for increment in sync_session.info.pop(_PENDING, []):
        increment()


def _drop_pending(sync_session) -> None:
    sync_session.info.pop(_PENDING, None)


def render() -> tuple[bytes, str]:
    """The exposition text: every worker's values in multiprocess mode, else this one's."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


def require_metrics_access(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """METRICS_TOKEN set: `Authorization: Bearer <METRICS_TOKEN>` is required. Unset: open
    in development (an internal network); closed to everyone in production, so a
    production api never serves its metrics anonymously."""
    expected = settings.metrics_token.get_secret_value()
    if not expected:
        if settings.environment == "production":
            raise NotAuthenticated("METRICS_TOKEN 未设置：生产环境不提供匿名指标")
        return
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not same_secret(token, expected):
        raise NotAuthenticated()


router = APIRouter()


@router.get(
    "/metrics", tags=["ops"], response_class=Response,
    dependencies=[Depends(require_metrics_access)], responses=error_response_doc(NotAuthenticated),
)
async def metrics() -> Response:
    """Prometheus text exposition format (all api workers in multiprocess mode)."""
    body, content_type = render()
    return Response(content=body, media_type=content_type)
