"""One request id per borrower message, carried gateway → Rasa → action server → api.

The api's middleware takes the caller's `X-Request-ID` (or makes one), keeps it in a
context variable for the duration of the request — the JSON logs read it from there —
and returns it in the response header. The gateway passes it to Rasa in the message
metadata (`request_id`); the actions read it from `tracker.latest_message["metadata"]`
and send it back as `X-Request-ID` on every call to the api, so one id ties together
the borrower's request, the bot's turn and every internal call the turn made.

Standard library only (and valid on Python 3.10): the action server imports it too.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any, Callable, Optional

HEADER = "X-Request-ID"
METADATA_KEY = "request_id"  # key in the Rasa message metadata
_HEADER_BYTES = HEADER.lower().encode()
# What an incoming id may look like: a UUID, a trace id, a load balancer's id. Anything
# else (too long, spaces, control characters — log injection) is replaced by a new id.
_ACCEPTED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

REQUEST_ID: ContextVar[Optional[str]] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def clean_request_id(value: object) -> Optional[str]:
    """The id if it is an acceptable one, else None."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if isinstance(value, str) and _ACCEPTED.fullmatch(value):
        return value
    return None


def current_request_id() -> Optional[str]:
    return REQUEST_ID.get()


def ensure_request_id() -> str:
    """The current request id; outside any request (a job, a test) a new one is set."""
    request_id = REQUEST_ID.get()
    if request_id is None:
        request_id = new_request_id()
        REQUEST_ID.set(request_id)
    return request_id


Scope = dict[str, Any]
ASGIApp = Callable[..., Any]
access_log = logging.getLogger("api.access")
# Probes and scrapes: logged at DEBUG so they do not drown the requests that matter.
QUIET_PATHS = frozenset({"/health", "/metrics"})


class RequestIdMiddleware:
    """Pure ASGI (streams pass through untouched): request id in, context var, header
    out, and one access log line per finished request (the query string is never logged:
    it can carry signatures)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or ()).get(_HEADER_BYTES)
        request_id = clean_request_id(incoming) or new_request_id()
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != _HEADER_BYTES]
                headers.append((_HEADER_BYTES, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope.get("path", "")
            access_log.log(
                logging.DEBUG if path in QUIET_PATHS else logging.INFO,
                "%s %s %s", scope.get("method"), path, status,
                extra={"request_id": request_id, "method": scope.get("method"), "path": path,
                       "status": status,
                       "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
            )
            REQUEST_ID.reset(token)
