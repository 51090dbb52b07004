"""Start the three real services (api, action server, Rasa) as subprocesses on free ports.

Nothing here is mocked: the trained model in var/models (make test trains it) is served
by the real Rasa 3.6, which calls the real action server, which calls the real api.
"""

import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.manage import init_db
from devstack.config import ROOT, StackConfig
from devstack.model import ensure_model
from devstack.supervisor import Stack, service_specs
from tests.conftest import free_port


E2E_WECHAT_TOKEN = "e2e-wechat-token"


@dataclass
class LiveStack:
    stack: Stack
    config: StackConfig
    db_path: Path

    @property
    def api_url(self) -> str:
        return self.config.api_url

    def transcript(self, conversation_id: str) -> list[tuple[str, str, str]]:
        with sqlite3.connect(self.db_path) as db:
            return db.execute(
                "SELECT sender, text, status FROM messages WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()


def _start_live_stack(tmp_path_factory) -> Iterator[LiveStack]:
    var_dir = tmp_path_factory.mktemp("var")
    db_path = var_dir / "app.db"
    salt = secrets.token_hex(16)
    config = StackConfig(
        api_port=free_port(),
        rasa_port=free_port(),
        actions_port=free_port(),
        var_dir=var_dir,
        models_dir=ROOT / "var" / "models",
        extra_env={
            "DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
            "ID_HASH_SALT": salt,
            "SERVICE_TOKEN": secrets.token_hex(16),
            "RASA_TOKEN": secrets.token_hex(16),
            "WECHAT_TOKEN": E2E_WECHAT_TOKEN,
            # Live streams re-read every second and end every few seconds, so the browser
            # tests see changes made from outside the api process (straight in the
            # database) and exercise the page's reconnect.
            "CHAT_STREAM_KEEPALIVE_SECONDS": "1",
            "CHAT_STREAM_MAX_SECONDS": "4",
            # No reminder may land in another test's conversation: the tests that need
            # outreach drive it themselves.
            "OUTREACH_SCHEDULER": "off",
        },
    )
    init_db(config.database_url, salt)
    model = ensure_model(config.models_dir)
    with Stack(config, service_specs(config, model=model)) as stack:
        yield LiveStack(stack=stack, config=config, db_path=db_path)


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory) -> Iterator[LiveStack]:
    """One stack shared by the e2e tests that leave it healthy."""
    yield from _start_live_stack(tmp_path_factory)


@pytest.fixture(scope="module")
def disposable_stack(tmp_path_factory) -> Iterator[LiveStack]:
    """A stack of its own for tests that break it (kill a service)."""
    yield from _start_live_stack(tmp_path_factory)


class ChatSession:
    """A borrower talking through the public chat contract, as the web page does."""

    def __init__(self, api_url: str) -> None:
        self.http = httpx.Client(base_url=api_url, timeout=60)
        opened = self.http.post("/api/v1/chat/sessions", json={"channel": "web"})
        opened.raise_for_status()
        body = opened.json()
        self.conversation_id = body["conversation_id"]
        self.opening = body["messages"]
        self._auth = {"Authorization": f"Bearer {body['session_token']}"}
        self.state = "bot"

    def say(self, text: str) -> list[dict]:
        response = self.http.post(
            f"/api/v1/chat/sessions/{self.conversation_id}/messages",
            json={"text": text},
            headers=self._auth,
        )
        assert response.status_code == 200, response.text
        self.state = response.json()["state"]
        return response.json()["messages"]

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def chat(live_stack) -> Iterator[ChatSession]:
    session = ChatSession(live_stack.api_url)
    yield session
    session.close()


def texts(messages: list[dict]) -> str:
    return "\n".join(m["text"] for m in messages)
