"""Action tests run the real actions against the real api in-process (no mocks)."""

import httpx
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import LoanApiClient
from tests.conftest import SERVICE_TOKEN


@pytest.fixture
def client_factory(app):
    def make() -> LoanApiClient:
        return LoanApiClient(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://api.test",
                headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
            )
        )

    return make


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def tracker_for(conversation_id: str, text: str, intent: str) -> Tracker:
    return Tracker(
        sender_id=conversation_id,
        slots={},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.99}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages]
