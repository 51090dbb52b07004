"""One request id from the borrower's message to the action server's call to the api,
through the real api, Rasa and action server (their logs: var_dir/log/<service>.log)."""

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e


def log_lines(path: Path) -> list[dict]:
    """The JSON lines of a service's log (anything else a process printed is skipped)."""
    lines = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if raw.startswith("{"):
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue
    return lines


def lines_with(path: Path, request_id: str, *, until=bool, timeout: float = 10.0) -> list[dict]:
    """The lines carrying `request_id`, once `until(lines)` holds (or the timeout passes):
    a request's access line is written after its response, later than the lines of the
    calls made while it ran."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in log_lines(path) if line.get("request_id") == request_id]
        if until(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def access_paths(lines: list[dict]) -> set[str]:
    return {line.get("path") for line in lines if line["logger"] == "api.access"}


def test_the_request_id_of_a_message_reaches_the_action_server_s_api_call(live_stack):
    request_id = f"e2e-{uuid.uuid4().hex}"
    with httpx.Client(base_url=live_stack.api_url, timeout=60) as http:
        opened = http.post("/api/v1/chat/sessions", json={"channel": "web"}).json()
        conversation_id = opened["conversation_id"]
        # Unverified: the action asks the api for the amount, is refused (P4), asks to verify.
        response = http.post(
            f"/api/v1/chat/sessions/{conversation_id}/messages", json={"text": "我欠多少钱"},
            headers={"Authorization": f"Bearer {opened['session_token']}", "X-Request-ID": request_id},
        )

    assert response.status_code == 200, response.text
    assert response.headers["X-Request-ID"] == request_id
    assert any(m["sender"] == "bot" for m in response.json()["messages"])

    log_dir = live_stack.config.log_dir
    borrower_path = f"/api/v1/chat/sessions/{conversation_id}/messages"
    api = lines_with(log_dir / "api.log", request_id, until=lambda lines: borrower_path in access_paths(lines))
    paths = access_paths(api)
    assert borrower_path in paths  # the borrower's request
    internal = [p for p in paths if p and p.startswith(f"/internal/v1/conversations/{conversation_id}/")]
    assert internal, f"no internal call logged with {request_id}; api lines: {api}"

    actions = lines_with(log_dir / "actions.log", request_id)
    calls = [line for line in actions if line["logger"] == "actions.api_client"]
    assert {line["path"] for line in calls} >= set(internal)
