"""Explaining what is owed. Every figure and its rendering comes from the api."""

from typing import Any, Callable

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import ApiUnavailable, LoanApiClient, NotVerified, default_client

ClientFactory = Callable[[], LoanApiClient]


async def utter_amount_due(
    dispatcher: CollectingDispatcher, client: LoanApiClient, conversation_id: str
) -> None:
    """Tell a verified borrower what they owe, loan by loan, with the breakdown."""
    due = await client.amount_due(conversation_id)
    if not due["loans"]:
        dispatcher.utter_message(response="utter_amount_due_none")
        return
    for loan in due["loans"]:
        dispatcher.utter_message(
            response="utter_amount_due",
            product_name=loan["product_name"],
            contract_no=loan["contract_no"],
            total_due=loan["total_due"]["display"],
            principal=loan["principal"]["display"],
            interest=loan["interest"]["display"],
            penalty_interest=loan["penalty_interest"]["display"],
            fees=loan["fees"]["display"],
            due_date=loan["due_date"],
            days_past_due=loan["days_past_due"],
        )
    if len(due["loans"]) > 1:
        dispatcher.utter_message(
            response="utter_amount_due_total", total_due=due["total_due"]["display"]
        )
    dispatcher.utter_message(response="utter_amount_due_next_step")


class ActionExplainAmountDue(Action):
    def __init__(self, client_factory: ClientFactory = default_client) -> None:
        self._client_factory = client_factory

    def name(self) -> str:
        return "action_explain_amount_due"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            async with self._client_factory() as client:
                await utter_amount_due(dispatcher, client, tracker.sender_id)
        except NotVerified:
            dispatcher.utter_message(response="utter_ask_identity")  # P4
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
        return []
