"""Identity verification (P4): the api decides; the bot never says which field was wrong."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import ApiUnavailable, VerificationLocked, default_client
from actions.identity_parser import parse_identity
from actions.loans import ClientFactory, utter_amount_due


class ActionVerifyIdentity(Action):
    def __init__(self, client_factory: ClientFactory = default_client) -> None:
        self._client_factory = client_factory

    def name(self) -> str:
        return "action_verify_identity"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        claim = parse_identity(tracker.latest_message.get("text") or "")
        if claim is None:
            dispatcher.utter_message(response="utter_identity_incomplete")
            return []
        try:
            async with self._client_factory() as client:
                result = await client.verify_identity(
                    tracker.sender_id,
                    full_name=claim.full_name,
                    id_last4=claim.id_last4,
                    birth_date=claim.birth_date,
                )
                if result.verified:
                    dispatcher.utter_message(response="utter_identity_verified")
                    await utter_amount_due(dispatcher, client, tracker.sender_id)
                elif result.locked:
                    dispatcher.utter_message(response="utter_identity_locked")
                else:
                    dispatcher.utter_message(response="utter_identity_not_verified")
        except VerificationLocked:
            dispatcher.utter_message(response="utter_identity_locked")
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
        return []
