"""What every api-backed action shares: one client per run, and the same answers when
the borrower is not verified (ask for identity, remember the request), when verification
is locked, and when the api fails (apologise, invent nothing, hand over to a person)."""

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import (
    ApiRefused,
    ApiUnavailable,
    LoanApiClient,
    NotVerified,
    VerificationLocked,
    default_client,
)
from actions.observability import bind_request_id
from actions.templates import say

ClientFactory = Callable[[], LoanApiClient]
Events = list[dict[str, Any]]

# Slots the actions keep between turns (bot/domain.yml declares them).
PENDING_REQUEST = "pending_request"
OFFERED_QUOTES = "offered_quotes"
SELECTED_QUOTE = "selected_quote_id"
HARDSHIP_REASON = "hardship_reason"
HUMAN_OFFERED = "human_offered"
PENDING_PAY_DATE = "pending_pay_by_date"
PENDING_FULL_PAYMENT = "pending_full_payment"


@dataclass(frozen=True)
class Request:
    """One borrower request: what they asked (intent), in their words, with entities.
    Kept as a slot while identity is checked, then carried out."""

    intent: str
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def latest(cls, tracker: Tracker) -> "Request":
        message = tracker.latest_message or {}
        return cls(
            intent=(message.get("intent") or {}).get("name") or "",
            text=message.get("text") or "",
            entities=[
                {"entity": e.get("entity"), "value": e.get("value")}
                for e in message.get("entities") or []
            ],
        )

    @classmethod
    def from_slot(cls, value: Any) -> "Request | None":
        if not isinstance(value, dict) or not value.get("intent"):
            return None
        return cls(value["intent"], value.get("text") or "", list(value.get("entities") or []))

    def as_slot(self) -> dict[str, Any]:
        return {"intent": self.intent, "text": self.text, "entities": self.entities}

    def entity(self, name: str) -> str | None:
        for item in self.entities:
            if item.get("entity") == name and isinstance(item.get("value"), str):
                return item["value"]
        return None


@dataclass
class Turn:
    """Everything a handler needs for one bot turn."""

    dispatcher: CollectingDispatcher
    tracker: Tracker
    client: LoanApiClient

    @property
    def conversation_id(self) -> str:
        return self.tracker.sender_id

    def slot(self, name: str) -> Any:
        return self.tracker.get_slot(name)


def hand_off(dispatcher: CollectingDispatcher, reason_code: str, note: str | None = None) -> None:
    """Ask the gateway to give this conversation to a person. The gateway pauses the bot,
    queues the chat for collectors and tells the borrower their place in the queue."""
    handoff: dict[str, Any] = {"reason_code": reason_code}
    if note:
        handoff["note"] = note
    dispatcher.utter_message(json_message={"handoff": handoff})


class ApiAction(Action, metaclass=ABCMeta):
    """An action that talks to the api. Subclasses implement `act` (abstract, so the
    action server does not register this base class itself)."""

    def __init__(self, client_factory: ClientFactory = default_client) -> None:
        self._client_factory = client_factory

    @abstractmethod
    async def act(self, turn: Turn, request: Request) -> Events:
        """Answer one request; raise the api client's errors, `run` answers those."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        request = Request.latest(tracker)
        bind_request_id(tracker.latest_message)  # sent as X-Request-ID on every api call
        try:
            async with self._client_factory() as client:
                return await self.act(Turn(dispatcher, tracker, client), request)
        except NotVerified:
            say(dispatcher, "ask_identity")  # P4: not a word about the debt before this
            return [SlotSet(PENDING_REQUEST, request.as_slot())]
        except VerificationLocked:
            say(dispatcher, "identity_locked")
            return [SlotSet(HUMAN_OFFERED, True)]
        except ApiRefused as refusal:
            say(dispatcher, "api_refused", detail=refusal.detail)
            return [SlotSet(SELECTED_QUOTE, None)]
        except ApiUnavailable:
            say(dispatcher, "service_unavailable")
            hand_off(dispatcher, "service_unavailable")
            return []
