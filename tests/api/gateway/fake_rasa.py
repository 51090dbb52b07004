"""Rasa's HTTP side (the outside world for the api), faked with httpx.MockTransport.

Speaks the endpoints the gateway uses: the REST channel webhook, the tracker events
endpoint and GET /status (token in the query, as Rasa's --auth-token expects). It behaves like
Rasa where it matters: a paused tracker answers nothing until it is resumed.
"""

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

import httpx
import pytest

from api.gateway.rasa_client import RasaClient

RASA_TOKEN = "test-rasa-token"
EVENTS_PATH = re.compile(r"/conversations/(?P<sender>[^/]+)/tracker/events")


def handoff(reason_code: str, text: str = "", note: str | None = None) -> dict:
    """One REST reply item carrying the bot's handoff signal (the actions' contract)."""
    signal = {"reason_code": reason_code, **({"note": note} if note else {})}
    return {"recipient_id": "x", **({"text": text} if text else {}), "custom": {"handoff": signal}}


@dataclass
class FakeRasa:
    token: str = RASA_TOKEN
    # text → the REST reply items; default: one plain bot answer.
    script: Callable[[str], list[dict]] = lambda text: [{"recipient_id": "x", "text": "好的，我来帮您看看。"}]
    turns: list[dict] = field(default_factory=list)  # webhook bodies received
    events: list[dict] = field(default_factory=list)  # tracker event calls received
    paused: set[str] = field(default_factory=set)
    down: bool = False  # webhook refuses connections
    delay_seconds: float = 0.0  # webhook answers this late
    events_status: int = 200  # tracker endpoint answers with this status
    model_file: str = "model-0123456789abcdef.tar.gz"  # what GET /status names
    status_code: int = 200  # GET /status answers with this status
    status_calls: int = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/webhooks/rest/webhook":
            return await self._turn(request)
        if request.method == "GET" and request.url.path == "/status":
            return self._status(request)
        match = EVENTS_PATH.fullmatch(request.url.path)
        if request.method == "POST" and match:
            return self._append(request, unquote(match["sender"]))
        return httpx.Response(404, json={"status": "failure", "reason": "NotFound"})

    async def _turn(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.turns.append(body)
        if self.down:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if body["sender"] in self.paused:
            return httpx.Response(200, json=[])
        return httpx.Response(200, json=self.script(body["message"]))

    def _status(self, request: httpx.Request) -> httpx.Response:
        self.status_calls += 1
        if request.url.params.get("token") != self.token:
            return httpx.Response(401, json={"status": "failure", "reason": "NotAuthenticated"})
        if self.status_code != 200:
            return httpx.Response(self.status_code, json={"status": "failure"})
        return httpx.Response(200, json={"model_file": self.model_file, "model_id": "f" * 32,
                                         "num_active_training_jobs": 0})

    def _append(self, request: httpx.Request, sender: str) -> httpx.Response:
        call = {"sender": sender, "params": dict(request.url.params), "body": json.loads(request.content)}
        self.events.append(call)
        if call["params"].get("token") != self.token:
            return httpx.Response(401, json={"status": "failure", "reason": "NotAuthenticated"})
        if self.events_status != 200:
            return httpx.Response(self.events_status, json={"status": "failure", "reason": "ConversationError"})
        for event in call["body"]:
            (self.paused.add if event["event"] == "pause" else self.paused.discard)(sender)
        return httpx.Response(200, json={"sender_id": sender, "paused": sender in self.paused})

    def event_names(self, sender: str) -> list[str]:
        return [e["event"] for call in self.events if call["sender"] == sender for e in call["body"]]


@pytest.fixture
def settings(settings):
    return settings.model_copy(
        update={"rasa_token": settings.rasa_token.__class__(RASA_TOKEN),
                "rasa_timeout_seconds": 1.0, "rasa_control_timeout_seconds": 0.5}
    )


@pytest.fixture
async def fake_rasa(app, settings):
    """Replace the app's Rasa client (and the WeChat channel's) with one on the fake."""
    fake = FakeRasa()
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(fake.handle),
        base_url=settings.rasa_url,
        timeout=settings.rasa_timeout_seconds,
    )
    client = RasaClient(http)
    app.state.rasa = client
    app.state.wechat.rasa = client
    yield fake
    await http.aclose()
