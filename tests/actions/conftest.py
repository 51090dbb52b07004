"""Action tests run the real actions against the real api in-process (no mocks).

`Conversation` plays the part of Rasa around the actions: it maps an intent to the action
data/rules names for it, keeps the slots the actions set and the user events they read.
Only the classifier is left out: each turn states its intent, like a Rasa test story.
"""

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import dialogue, escalation, identity
from actions.api_client import LoanApiClient
from actions.base import ApiAction
from tests.conftest import SERVICE_TOKEN, open_chat

ROOT = Path(__file__).resolve().parents[2]


def _rules() -> dict[str, str]:
    mapping = {}
    for path in sorted((ROOT / "data" / "rules").glob("*.yml")):
        for rule in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]:
            steps = rule["steps"]
            mapping[steps[0]["intent"]] = steps[1]["action"]
    return mapping


RULES = _rules()
ACTION_CLASSES = {
    cls().name(): cls
    for module in (dialogue, escalation, identity)
    for cls in vars(module).values()
    if isinstance(cls, type) and cls.__module__ == module.__name__ and hasattr(cls, "name")
}


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


def tracker_for(
    conversation_id: str,
    text: str,
    intent: str,
    *,
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
) -> Tracker:
    return Tracker(
        sender_id=conversation_id,
        slots=dict(slots or {}),
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.99},
            "entities": entities or [],
        },
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


class Turn:
    def __init__(self, messages: list[dict[str, Any]], action: str) -> None:
        self.action = action
        self.texts = [m["text"] for m in messages if m.get("text")]
        self.handoffs = [
            m["custom"]["handoff"] for m in messages if (m.get("custom") or {}).get("handoff")
        ]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


class Conversation:
    def __init__(self, conversation_id: str, client_factory) -> None:
        self.id = conversation_id
        self.slots: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self._client_factory = client_factory

    async def say(self, intent: str, text: str, *, metadata: dict | None = None, **entities: str) -> Turn:
        action_name = RULES[intent]
        entity_list = [{"entity": k, "value": v} for k, v in entities.items()]
        self.events.append(
            {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}
        )
        if action_name.startswith("utter_"):
            return Turn([{"text": action_name}], action_name)
        cls = ACTION_CLASSES[action_name]
        action = cls(self._client_factory) if issubclass(cls, ApiAction) else cls()
        dispatcher = CollectingDispatcher()
        tracker = tracker_for(
            self.id, text, intent, slots=self.slots, entities=entity_list, events=self.events
        )
        if metadata is not None:
            tracker.latest_message["metadata"] = metadata
        events = await action.run(dispatcher, tracker, {})
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        return Turn(dispatcher.messages, action_name)


@pytest.fixture
async def conversation(client, seeded, client_factory) -> Conversation:
    chat = await open_chat(client)
    return Conversation(chat["conversation_id"], client_factory)


@pytest.fixture
async def verified(conversation) -> Conversation:
    turn = await conversation.say("inform_identity", "张伟 1234 1990-03-07")
    assert "身份核验通过" in turn.text
    return conversation
