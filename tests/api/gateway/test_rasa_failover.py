"""Several Rasa instances behind one api process (RASA_URLS): turns go round-robin, a
refused connection fails over to the next instance, and a request that may have reached
Rasa is never sent twice.

The instances are real HTTP servers on free local ports (uvicorn, in the test's loop)
speaking the parts of Rasa's HTTP API the gateway uses; a stopped one refuses
connections exactly as a killed Rasa does.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.core.config import Settings
from api.gateway import rasa_client
from api.gateway.rasa_client import BotUnavailable, RasaClient, build_rasa_http
from tests.conftest import free_port, open_chat

TOKEN = "failover-token"
TURN_DEADLINE = 1.5


@dataclass
class FakeRasaServer:
    """One Rasa instance: answers with its own name, so a reply says who served it."""

    name: str
    port: int = field(default_factory=free_port)
    turns: list[dict] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    delay_seconds: float = 0.0
    status_code: int = 200
    _server: uvicorn.Server | None = None
    _task: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/webhooks/rest/webhook")
        async def webhook(request: Request):
            body = await request.json()
            self.turns.append(body)
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            if self.status_code != 200:
                return JSONResponse({"status": "failure"}, status_code=self.status_code)
            return [{"recipient_id": body["sender"], "text": f"served by {self.name}"}]

        @app.post("/conversations/{sender}/tracker/events")
        async def append(sender: str, request: Request):
            if request.query_params.get("token") != TOKEN:
                return JSONResponse({"status": "failure"}, status_code=401)
            self.events.extend(e["event"] for e in await request.json())
            return {"sender_id": sender}

        @app.get("/status")
        async def status():
            return {"model_file": f"models/model-{self.name}.tar.gz"}

        return app

    async def start(self) -> None:
        self._server = uvicorn.Server(uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
        ))
        self._task = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(10):
            while not self._server.started:
                if self._task.done():
                    self._task.result()
                await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Like kill -9 for a client: from now on the port refuses connections."""
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            await self._task
            self._server = None


@pytest.fixture
async def instances() -> AsyncIterator[list[FakeRasaServer]]:
    servers = [FakeRasaServer("a"), FakeRasaServer("b")]
    for server in servers:
        await server.start()
    yield servers
    for server in servers:
        await server.stop()


@pytest.fixture
async def client_for():
    clients: list[httpx.AsyncClient] = []

    def build(urls: list[str], deadline: float = TURN_DEADLINE) -> RasaClient:
        http = build_rasa_http(base_url=urls[0], timeout_seconds=deadline, instances=len(urls))
        clients.append(http)
        return RasaClient(http, urls=urls)

    yield build
    for http in clients:
        await http.aclose()


async def served_by(client: RasaClient, sender: str = "c-1", text: str = "你好") -> str:
    replies = await client.send(sender_id=sender, text=text)
    return replies[0].text.removeprefix("served by ")


async def test_turns_alternate_between_the_instances(instances, client_for):
    a, b = instances
    client = client_for([a.url, b.url])
    assert [await served_by(client) for _ in range(4)] == ["a", "b", "a", "b"]
    assert len(a.turns) == len(b.turns) == 2


async def test_a_refused_connection_is_served_by_the_other_instance(instances, client_for):
    a, b = instances
    client = client_for([a.url, b.url])
    assert [await served_by(client) for _ in range(2)] == ["a", "b"]
    await a.stop()
    began = time.monotonic()
    # a's turn in the rotation: refused, so b answers, well inside the deadline.
    assert await served_by(client, text="我欠多少钱") == "b"
    assert time.monotonic() - began < TURN_DEADLINE
    assert [t["message"] for t in b.turns] == ["你好", "我欠多少钱"]
    assert client.instances.failovers == 1
    # While a stays down it is tried last, so no turn pays for its refusal again.
    assert [await served_by(client) for _ in range(3)] == ["b", "b", "b"]
    assert client.instances.down() == [a.url]
    assert client.instances.failovers == 1


async def test_an_instance_back_after_its_pause_serves_again(instances, client_for, monkeypatch):
    monkeypatch.setattr(rasa_client, "DOWN_SECONDS", 0.2)
    a, b = instances
    client = client_for([a.url, b.url])
    port = a.port
    await a.stop()
    assert await served_by(client) == "b"
    restarted = FakeRasaServer("a2", port=port)
    await restarted.start()
    try:
        await asyncio.sleep(0.3)
        assert sorted([await served_by(client) for _ in range(2)]) == ["a2", "b"]
    finally:
        await restarted.stop()


async def test_every_instance_refusing_is_bot_unavailable_at_once(instances, client_for):
    a, b = instances
    client = client_for([a.url, b.url])
    await a.stop()
    await b.stop()
    began = time.monotonic()
    with pytest.raises(BotUnavailable, match="could not connect to any Rasa instance"):
        await client.send(sender_id="c-1", text="你好")
    assert time.monotonic() - began < 1.0


async def test_a_turn_that_reached_a_slow_instance_is_not_sent_again(instances, client_for):
    # Rasa may already be running the turn's actions: sending it to b as well would make
    # the bot process the borrower's words twice. The deadline holds: apology, not retry.
    a, b = instances
    a.delay_seconds = TURN_DEADLINE + 1
    client = client_for([a.url, b.url])
    began = time.monotonic()
    with pytest.raises(BotUnavailable, match="no answer within"):
        await client.send(sender_id="c-1", text="确认")
    assert time.monotonic() - began < TURN_DEADLINE + 0.5
    assert len(a.turns) == 1 and b.turns == []


async def test_an_error_answer_is_not_sent_to_the_other_instance(instances, client_for):
    a, b = instances
    a.status_code = 500
    client = client_for([a.url, b.url])
    with pytest.raises(BotUnavailable, match="HTTP 500"):
        await client.send(sender_id="c-1", text="确认")
    assert b.turns == []


async def test_tracker_control_fails_over_too(instances, client_for):
    # Control calls may go to any instance: the tracker store is shared.
    a, b = instances
    client = client_for([a.url, b.url])
    await a.stop()
    await client.pause(sender_id="c-1", token=TOKEN, timeout=1.0)
    await client.resume(sender_id="c-1", token=TOKEN, timeout=1.0)
    assert b.events == ["pause", "resume"]
    assert await client.model_version(token=TOKEN, timeout=1.0) == "rasa:model-b"


def test_rasa_urls_lists_the_instances_and_rasa_url_stays_for_one():
    assert Settings(rasa_url="http://r:5005").rasa_instances == ["http://r:5005"]
    assert Settings(rasa_url="http://r:5005", rasa_urls=" http://a:5005/, http://b:5006 ,").rasa_instances == [
        "http://a:5005", "http://b:5006",
    ]


@pytest.fixture
def settings(settings, instances):
    """The app's own Rasa client on [a stopped instance, b]."""
    return settings.model_copy(update={
        "rasa_urls": f"http://127.0.0.1:{free_port()},{instances[1].url}",
        "rasa_timeout_seconds": TURN_DEADLINE,
    })


async def test_the_gateway_answers_through_the_instance_that_is_up(client, instances):
    opened = await open_chat(client)
    auth = {"Authorization": f"Bearer {opened['session_token']}"}
    for text in ("你好", "我欠多少钱"):
        response = await client.post(
            f"/api/v1/chat/sessions/{opened['conversation_id']}/messages", json={"text": text}, headers=auth,
        )
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "bot"
        assert [m["text"] for m in response.json()["messages"]] == ["served by b"]
    assert [t["message"] for t in instances[1].turns] == ["你好", "我欠多少钱"]
