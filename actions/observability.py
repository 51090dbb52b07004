"""The action server's side of observability: its logs, and the request id of a turn.

Logs: the same JSON lines (PII masked) as the api, from api/core/logging.py. rasa_sdk
gives no start-up hook: its main process installs a coloured handler, and the Sanic
worker that runs the actions starts with no logging at all (records below WARNING were
lost). Importing this package is the one moment our code runs in both, so
actions/__init__.py calls `configure_for_action_server()`, which acts only when the
process is that server — never in a test or a tool that merely imports the actions.

Request id: the gateway puts it in the message metadata; `bind_request_id` makes it the
current one for the action's run, so the api client sends it as X-Request-ID and the
action server's log lines carry it.
"""

import os
import sys
from typing import Any, Optional

from api.core.logging import configure_logging
from api.core.request_id import METADATA_KEY, REQUEST_ID, clean_request_id, new_request_id

from actions.config import get_action_settings

# Sanic sets this in the environment of each worker process it starts.
SANIC_WORKER_ENV = "SANIC_WORKER_NAME"


def serving_actions() -> bool:
    """True in `python -m rasa_sdk` (its main process or a Sanic worker of it)."""
    main_spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(main_spec, "name", None) == "rasa_sdk.__main__" or bool(
        os.environ.get(SANIC_WORKER_ENV)
    )


def configure_for_action_server() -> None:
    if serving_actions():
        settings = get_action_settings()
        configure_logging(settings.log_format, settings.log_level, take_over=True)


def request_id_of(latest_message: Optional[dict[str, Any]]) -> Optional[str]:
    """The gateway's request id from a tracker's latest message, if it sent a usable one."""
    metadata = (latest_message or {}).get("metadata")
    return clean_request_id(metadata.get(METADATA_KEY)) if isinstance(metadata, dict) else None


def bind_request_id(latest_message: Optional[dict[str, Any]]) -> str:
    """Make the turn's request id current (a new one if Rasa was called without it).

    rasa_sdk runs each webhook request in a task of its own, so the value stays with
    this action run.
    """
    request_id = request_id_of(latest_message) or new_request_id()
    REQUEST_ID.set(request_id)
    return request_id
