"""Console fixtures: the real app and database, Rasa faked (tests/api/gateway/fake_rasa.py),
staff signed in through the real token route, and borrowers who asked for a person
through the real chat contract."""

import httpx
import pytest

from api.users.models import Role
from tests.api.gateway.fake_rasa import fake_rasa, handoff, settings  # noqa: F401
from tests.api.users.builders import fast_password_hashing, make_user, user_headers  # noqa: F401
from tests.conftest import open_chat

CONSOLE = "/api/v1/console"
ZHANG = {"full_name": "张伟", "id_last4": "1234", "birth_date": "1990-03-07"}


def url(conversation_id: str, suffix: str = "") -> str:
    return f"{CONSOLE}/conversations/{conversation_id}{'/' + suffix if suffix else ''}"


class Borrower:
    """A borrower in the web chat, as the page talks to the api."""

    def __init__(self, client: httpx.AsyncClient, opened: dict) -> None:
        self.client, self.id = client, opened["conversation_id"]
        self.auth = {"Authorization": f"Bearer {opened['session_token']}"}

    async def say(self, text: str) -> dict:
        response = await self.client.post(
            f"/api/v1/chat/sessions/{self.id}/messages", json={"text": text}, headers=self.auth
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def transcript(self) -> dict:
        response = await self.client.get(f"/api/v1/conversations/{self.id}/transcript", headers=self.auth)
        assert response.status_code == 200, response.text
        return response.json()


def reason_in_message(text: str) -> list[dict]:
    """Fake bot: "转人工 E3" asks for a person with reason E3; anything else is answered."""
    if "转人工" in text:
        reason = text.split()[-1] if " " in text else "E2"
        return [handoff(reason, text="好的，我帮您转接人工客服。")]
    return [{"recipient_id": "x", "text": "好的，我来帮您看看。"}]


@pytest.fixture
def bot(fake_rasa):  # noqa: F811
    fake_rasa.script = reason_in_message
    return fake_rasa


@pytest.fixture
def escalate(client, bot):
    async def _escalate(reason: str = "E2", *, verify: dict | None = None, service_headers=None) -> Borrower:
        borrower = Borrower(client, await open_chat(client))
        if verify:
            verified = await client.post(
                f"/internal/v1/conversations/{borrower.id}/identity-verification",
                json=verify, headers=service_headers,
            )
            assert verified.json()["verified"] is True, verified.text
        body = await borrower.say(f"转人工 {reason}")
        assert body["state"] == "waiting_for_agent", body
        return borrower

    return _escalate


@pytest.fixture
async def staff(client, session) -> dict[str, dict]:
    """Headers for two collectors, a compliance reviewer and an admin."""
    headers = {}
    for username, role, name in (
        ("collector-a", Role.COLLECTOR, "王催收"),
        ("collector-b", Role.COLLECTOR, "赵催收"),
        ("compliance", Role.COMPLIANCE, "合规员"),
        ("admin", Role.ADMIN, "管理员"),
    ):
        await make_user(session, username=username, role=role, display_name=name)
        headers[username] = await user_headers(client, username=username)
    return headers
