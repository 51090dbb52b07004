"""Escalation to a person (E1-E6) and the two-misunderstandings rule.

The reply to a trigger carries no amount and no payment ask; the handoff payload tells
the gateway to pause the bot and queue the chat for a collector with the reason code.
For distress (E3) the gateway adds the configured crisis line to the reply.
"""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import HUMAN_OFFERED, Events, hand_off
from actions.templates import say

# intent -> (reason code for the gateway, what the bot says first)
TRIGGERS: dict[str, tuple[str, str]] = {
    "dispute_debt": ("E1", "handoff_E1"),
    "complain": ("complaint", "handoff_E2_complaint"),  # E2, queued with disputes
    "request_human": ("E2", "handoff_E2"),
    "express_distress": ("E3", "handoff_E3"),
    "inform_lawyer_involved": ("E4", "handoff_E4"),
    "inform_bereavement": ("E5", "handoff_E5"),
}
MISUNDERSTOOD = {"nlu_fallback", "out_of_scope"}


class ActionEscalate(Action):
    def name(self) -> str:
        return "action_escalate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        reason, template = TRIGGERS.get(intent, ("E2", "handoff_E2"))
        say(dispatcher, template)
        hand_off(dispatcher, reason, note=f"intent {intent}")
        return [SlotSet(HUMAN_OFFERED, False)]


def misunderstood_in_a_row(tracker: Tracker) -> int:
    """How many of the borrower's latest messages in a row the bot could not place."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent not in MISUNDERSTOOD:
            break
        count += 1
    return count


class ActionFallback(Action):
    """First miss: a short redirect. Second in a row: offer a person (E2 without a loop)."""

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        if misunderstood_in_a_row(tracker) >= 2:
            say(dispatcher, "fallback_offer_human")
            return [SlotSet(HUMAN_OFFERED, True)]
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        say(dispatcher, "out_of_scope" if intent == "out_of_scope" else "fallback_first")
        return []
