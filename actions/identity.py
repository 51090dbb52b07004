"""Identity verification (P4): the api decides; the bot never says which field was wrong.

After a successful check, the request that made the bot ask for identity ("我想分期",
"别打我单位电话") is carried out; with none pending, the borrower hears what they owe.
"""

from rasa_sdk.events import SlotSet

from actions.base import HUMAN_OFFERED, PENDING_REQUEST, ApiAction, Events, Request, Turn
from actions.identity_parser import parse_identity
from actions.routing import handler_for
from actions.negotiation import explain_amount_due
from actions.templates import say


class ActionVerifyIdentity(ApiAction):
    def name(self) -> str:
        return "action_verify_identity"

    async def act(self, turn: Turn, request: Request) -> Events:
        claim = parse_identity(request.text)
        if claim is None:
            say(turn.dispatcher, "identity_incomplete")
            return []
        result = await turn.client.verify_identity(
            turn.conversation_id,
            full_name=claim.full_name,
            id_last4=claim.id_last4,
            birth_date=claim.birth_date,
        )
        if result.locked:
            say(turn.dispatcher, "identity_locked")
            return [SlotSet(HUMAN_OFFERED, True)]
        if not result.verified:
            say(turn.dispatcher, "identity_not_verified")
            return []
        say(turn.dispatcher, "identity_verified")
        pending = Request.from_slot(turn.slot(PENDING_REQUEST))
        handler = handler_for(pending.intent) if pending else None
        if handler is None:
            return [SlotSet(PENDING_REQUEST, None), *await explain_amount_due(turn, request)]
        return [SlotSet(PENDING_REQUEST, None), *await handler(turn, pending)]
