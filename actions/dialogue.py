"""The Rasa actions of the conversation. Each is thin: the rules in data/rules map an
intent to one of these, and the handler it calls does the work against the api."""

from actions.api_client import ApiUnavailable
from actions.base import ApiAction, Events, Request, Turn, hand_off
from actions import data_rights, negotiation, preferences
from actions.templates import say


class ActionExplainAmountDue(ApiAction):
    def name(self) -> str:
        return "action_explain_amount_due"

    async def act(self, turn: Turn, request: Request) -> Events:
        return await negotiation.explain_amount_due(turn, request)


class ActionExplainFees(ApiAction):
    def name(self) -> str:
        return "action_explain_fees"

    async def act(self, turn: Turn, request: Request) -> Events:
        return await negotiation.explain_fees(turn, request)


class ActionOfferOptions(ApiAction):
    """展期 / 分期 / 罚息减免 asked for by name: the api's options of that kind."""

    def name(self) -> str:
        return "action_offer_options"

    async def act(self, turn: Turn, request: Request) -> Events:
        return await negotiation.request_options(turn, request)


class ActionRecordHardship(ApiAction):
    def name(self) -> str:
        return "action_record_hardship"

    async def act(self, turn: Turn, request: Request) -> Events:
        return await negotiation.record_hardship(turn, request)


class ActionCounterOffer(ApiAction):
    def name(self) -> str:
        return "action_counter_offer"

    async def act(self, turn: Turn, request: Request) -> Events:
        return await negotiation.counter_monthly(turn, request)


class ActionProposePaymentDate(ApiAction):
    def name(self) -> str:
        return "action_propose_payment_date"

    async def act(self, turn: Turn, request: Request) -> Events:
        return await negotiation.propose_date(turn, request)


class ActionPromiseFullPayment(ApiAction):
    def name(self) -> str:
        return "action_promise_full_payment"

    async def act(self, turn: Turn, request: Request) -> Events:
        return await negotiation.promise_full(turn, request)


class ActionChooseOption(ApiAction):
    def name(self) -> str:
        return "action_choose_option"

    async def act(self, turn: Turn, request: Request) -> Events:
        return await negotiation.choose(turn, request)


class ActionAcceptAgreement(ApiAction):
    def name(self) -> str:
        return "action_accept_agreement"

    async def act(self, turn: Turn, request: Request) -> Events:
        return await negotiation.accept(turn, request)


class ActionHandleAffirm(ApiAction):
    def name(self) -> str:
        return "action_handle_affirm"

    async def act(self, turn: Turn, request: Request) -> Events:
        return await negotiation.affirm(turn, request)


class ActionHandleDeny(ApiAction):
    def name(self) -> str:
        return "action_handle_deny"

    async def act(self, turn: Turn, request: Request) -> Events:
        return await negotiation.deny(turn, request)


class ActionUpdateContactPreference(ApiAction):
    def name(self) -> str:
        return "action_update_contact_preference"

    async def act(self, turn: Turn, request: Request) -> Events:
        return await preferences.update_preference(turn, request)


class ActionThirdParty(ApiAction):
    """A colleague, relative or friend is speaking (P1, P2): the api stops disclosure for
    this conversation, and they hear only a polite request to pass on a callback."""

    def name(self) -> str:
        return "action_third_party"

    async def act(self, turn: Turn, request: Request) -> Events:
        try:
            await turn.client.report_third_party(turn.conversation_id)
        except ApiUnavailable:
            # Still nothing about any account; a person records the callback request.
            say(turn.dispatcher, "third_party")
            hand_off(turn.dispatcher, "third_party", note="api unavailable")
            return []
        say(turn.dispatcher, "third_party")
        return []


class ActionOpenDataRequest(ApiAction):
    def name(self) -> str:
        return "action_open_data_request"

    async def act(self, turn: Turn, request: Request) -> Events:
        return await data_rights.open_data_request(turn, request)
