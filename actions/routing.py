"""Which handler answers which verified request; used by the actions and by identity
verification to carry out what was asked before the borrower proved who they are."""

from typing import Awaitable, Callable

from actions import data_rights, negotiation, preferences
from actions.base import Events, Request, Turn

Handler = Callable[[Turn, Request], Awaitable[Events]]

HANDLERS: dict[str, Handler] = {
    "ask_amount_due": negotiation.explain_amount_due,
    "ask_why_fees_grew": negotiation.explain_fees,
    "request_extension": negotiation.request_options,
    "request_instalment": negotiation.request_options,
    "request_waiver": negotiation.request_options,
    "inform_hardship_job_loss": negotiation.record_hardship,
    "inform_hardship_illness": negotiation.record_hardship,
    "inform_hardship_business_failure": negotiation.record_hardship,
    "inform_affordable_amount": negotiation.counter_monthly,
    "propose_payment_date": negotiation.propose_date,
    "promise_full_payment": negotiation.promise_full,
    "choose_option": negotiation.choose,
    "request_stop_workplace_contact": preferences.update_preference,
    "request_stop_family_contact": preferences.update_preference,
    "request_stop_all_contact": preferences.update_preference,
    "request_my_data": data_rights.open_data_request,
}


def handler_for(intent: str) -> Handler | None:
    return HANDLERS.get(intent)
