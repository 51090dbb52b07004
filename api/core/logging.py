"""The one logging setup of the api and the action server.

`LOG_FORMAT=json` (the default) writes one JSON object per line to stderr:
`timestamp` (UTC, ISO 8601), `level`, `logger`, `message`, `request_id` (from
api/core/request_id.py; null outside a request), any `extra={...}` fields, and
`exception` with the traceback when there is one. `LOG_FORMAT=text` writes the same
content as a human-readable line.

ID numbers, mobile numbers and bank-card numbers are masked (api/core/pii.py) in the
message, the traceback and every extra field of every line, whichever format: a log is
read by operators and shipped to log stores, neither of which may see them (PD2).

Standard library and api/core only, valid on Python 3.10: the action server imports it.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

from api.core.pii import mask_pii
from api.core.request_id import REQUEST_ID

LOG_FORMATS = ("json", "text")
# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "request_id", "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colour codes
}
# Servers whose own handlers would bypass ours (unmasked, unformatted): their records go
# to the root logger instead.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "sanic.root", "sanic.error", "sanic.access",
                  "sanic.server", "sanic.websockets")
# Replaced by the api's own access line (api/core/request_id.py: request id, duration):
# silenced, and left without handlers so uvicorn does not even format its line.
SILENCED_LOGGERS = ("uvicorn.access",)
# Libraries that log every request at INFO, URL included: Rasa's control calls carry the
# auth token in the query string, so these stay at WARNING.
QUIET_LOGGERS = ("httpx", "httpcore")


def scrub(value: Any) -> Any:
    """A log field with ID, phone and card numbers masked, keeping JSON types."""
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        masked = mask_pii(str(value))
        return value if masked == str(value) else masked
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {str(k): scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [scrub(v) for v in value]
    return mask_pii(str(value))


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: scrub(v) for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")}


def _request_id(record: logging.LogRecord) -> str | None:
    return getattr(record, "request_id", None) or REQUEST_ID.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per line, PII masked."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ).replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_pii(record.getMessage()),
            "request_id": _request_id(record),
        }
        entry.update({k: v for k, v in _extras(record).items() if k not in entry})
        if record.exc_info:
            entry["exception"] = mask_pii(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = mask_pii(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`2026-05-01T08:00:00.123Z INFO api.access [request id] message key=value`, masked."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, timezone.utc).isoformat(
            timespec="milliseconds"
        ).replace("+00:00", "Z")
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = (f"{stamp} {record.levelname:<7} {record.name} [{_request_id(record) or '-'}] "
                f"{mask_pii(record.getMessage())}")
        if extras:
            line += f" {extras}"
        if record.exc_info:
            line += "\n" + mask_pii(self.formatException(record.exc_info))
        if record.stack_info:
            line += "\n" + mask_pii(self.formatStack(record.stack_info))
        return line


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test runner swaps it per test)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it
        pass


def configure_logging(log_format: str = "json", level: str = "INFO", *, take_over: bool = False) -> None:
    """Install the project's handler on the root logger (idempotent).

    Server loggers (uvicorn, sanic) lose their own handlers and propagate to it; uvicorn's
    access line gives way to the api's own (`api.access`).
    `take_over=True` also removes every other root handler — for the action server, where
    rasa_sdk has installed a coloured, unmasked one before our code runs. The api does
    not need it (uvicorn leaves the root logger alone), and a test runner's capturing
    handlers are then left in place.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {LOG_FORMATS}, got {log_format!r}")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_project_handler", False) or take_over:
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler._project_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
    for name in SILENCED_LOGGERS:
        silenced = logging.getLogger(name)
        silenced.handlers.clear()
        silenced.propagate = False
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)  # warnings become log lines too (logger "py.warnings")
