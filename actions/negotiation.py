"""Negotiating what the borrower can afford (O4) up to an explicit 确认 (D3).

Handlers take a Turn and the Request they answer, so a request made before identity was
verified can be carried out right after verification. Each returns the slot events.
"""

from datetime import date
from typing import Any

from rasa_sdk.events import SlotSet

from actions.base import (
    HARDSHIP_REASON,
    HUMAN_OFFERED,
    OFFERED_QUOTES,
    PENDING_FULL_PAYMENT,
    PENDING_PAY_DATE,
    SELECTED_QUOTE,
    Events,
    Request,
    Turn,
    hand_off,
)
from actions.choice import pick_option
from actions.consent import is_explicit_consent
from actions.offers import amount_in, cn_date, date_in, offered_entry, option_line
from actions.templates import render, say, say_lines

CONSENT_TEXT = "确认"
TIME_BARRED = "time_barred"  # the api's reason code: E6, a person reviews first (L2)

HARDSHIP_BY_INTENT = {
    "inform_hardship_job_loss": "job_loss",
    "inform_hardship_illness": "illness",
    "inform_hardship_business_failure": "business_failure",
}
KIND_BY_INTENT = {
    "request_extension": "extension",
    "request_instalment": "instalment",
    "request_waiver": "penalty_waiver",
}


async def explain_amount_due(turn: Turn, request: Request) -> Events:
    due = await turn.client.amount_due(turn.conversation_id)
    if not due["loans"]:
        say(turn.dispatcher, "amount_due_none")
        return []
    for loan in due["loans"]:
        say(
            turn.dispatcher,
            "amount_due",
            product_name=loan["product_name"],
            contract_no=loan["contract_no"],
            total_due=loan["total_due"]["display"],
            principal=loan["principal"]["display"],
            interest=loan["interest"]["display"],
            penalty_interest=loan["penalty_interest"]["display"],
            fees=loan["fees"]["display"],
            due_date=cn_date(loan["due_date"]),
            days_past_due=loan["days_past_due"],
        )
    if len(due["loans"]) > 1:
        say(turn.dispatcher, "amount_due_total", total_due=due["total_due"]["display"])
    say(turn.dispatcher, "amount_due_next_step")
    return []


async def explain_fees(turn: Turn, request: Request) -> Events:
    due = await turn.client.amount_due(turn.conversation_id)
    for loan in due["loans"]:
        say(
            turn.dispatcher,
            "fees_explained",
            penalty_interest=loan["penalty_interest"]["display"],
            fees=loan["fees"]["display"],
        )
    if not due["loans"]:
        say(turn.dispatcher, "amount_due_none")
    return []


async def offer_options(
    turn: Turn, request: Request, *, kind: str | None = None, hardship: str | None = None
) -> Events:
    hardship = hardship or turn.slot(HARDSHIP_REASON)
    if kind == "penalty_waiver" and not hardship:
        say(turn.dispatcher, "waiver_needs_reason")
        return []
    quote_set = await turn.client.quotes(turn.conversation_id, kind=kind, hardship_reason=hardship)
    blocked = quote_set.get("blocked")
    if blocked:
        say(turn.dispatcher, "options_blocked", reason_text=blocked["reason_text"])
        if blocked["reason_code"] == TIME_BARRED:
            hand_off(turn.dispatcher, "E6", note="time-barred: human review before any agreement")
            return [SlotSet(OFFERED_QUOTES, [])]
        say(turn.dispatcher, "offer_human_review")
        return [SlotSet(OFFERED_QUOTES, []), SlotSet(HUMAN_OFFERED, True)]
    quotes = quote_set["quotes"]
    refused = [render("option_refused", **r) for r in quote_set["refused"]]
    if not quotes:
        say_lines(turn.dispatcher, [render("options_none"), *refused])
        say(turn.dispatcher, "offer_human_review")  # D2: an automated refusal gets a human path
        return [SlotSet(OFFERED_QUOTES, []), SlotSet(HUMAN_OFFERED, True)]
    lines = [render("options_intro")]
    lines += [option_line(i, q) for i, q in enumerate(quotes, start=1)]
    lines += refused
    say_lines(turn.dispatcher, lines)
    say(turn.dispatcher, "options_choose")
    return [
        SlotSet(OFFERED_QUOTES, [offered_entry(q) for q in quotes]),
        SlotSet(SELECTED_QUOTE, None),
    ]


async def record_hardship(turn: Turn, request: Request) -> Events:
    reason = HARDSHIP_BY_INTENT[request.intent]
    say(turn.dispatcher, f"hardship_{reason}")
    return [SlotSet(HARDSHIP_REASON, reason), *await offer_options(turn, request, hardship=reason)]


async def request_options(turn: Turn, request: Request) -> Events:
    return await offer_options(turn, request, kind=KIND_BY_INTENT.get(request.intent))


def _present_counter(turn: Turn, answer: dict[str, Any], intro: str) -> Events:
    quote = answer.get("quote")
    if answer["outcome"] == "none" or quote is None:
        # L3: an honest explanation and a person, never "必须全额".
        say(turn.dispatcher, "counter_none", reason_text=answer.get("reason_text") or "")
        time_barred = answer.get("reason_code") == TIME_BARRED
        hand_off(turn.dispatcher, "E6" if time_barred else "negotiation_failed")
        return [SlotSet(OFFERED_QUOTES, []), SlotSet(PENDING_PAY_DATE, None)]
    if answer["outcome"] == "alternative":
        intro = "counter_alternative"
    say_lines(turn.dispatcher, [render(intro), option_line(1, quote)])
    say(turn.dispatcher, "choose_single")
    return [
        SlotSet(OFFERED_QUOTES, [offered_entry(quote)]),
        SlotSet(SELECTED_QUOTE, None),
        SlotSet(PENDING_PAY_DATE, None),
        SlotSet(PENDING_FULL_PAYMENT, None),
    ]


async def _promise(turn: Turn, *, amount_fen: int, pay_by: date) -> Events:
    answer = await turn.client.counter_offer(
        turn.conversation_id, amount_by_date_fen=amount_fen, pay_by_date=pay_by
    )
    return _present_counter(turn, answer, "counter_promise")


async def counter_monthly(turn: Turn, request: Request) -> Events:
    """"每月只能还800" — or the amount for a date the borrower named a turn earlier."""
    amount = amount_in(request)
    if amount is None:
        say(turn.dispatcher, "amount_unrecognised")
        return []
    pending_date = turn.slot(PENDING_PAY_DATE)
    if pending_date:
        return await _promise(turn, amount_fen=amount, pay_by=date.fromisoformat(pending_date))
    answer = await turn.client.counter_offer(turn.conversation_id, monthly_affordable_fen=amount)
    return _present_counter(turn, answer, "counter_fits")


async def propose_date(turn: Turn, request: Request) -> Events:
    """A promise-to-pay: "月底能还1000", "15号先还两千"."""
    due = await turn.client.amount_due(turn.conversation_id)
    pay_by, ask_again = date_in(request, tz=due["borrower_timezone"])
    if pay_by is None:
        say(turn.dispatcher, ask_again)
        return []
    if turn.slot(PENDING_FULL_PAYMENT):
        return await _promise(turn, amount_fen=due["total_due"]["fen"], pay_by=pay_by)
    amount = amount_in(request)
    if amount is None:
        say(turn.dispatcher, "ask_amount_for_date", pay_by_date=cn_date(pay_by))
        return [SlotSet(PENDING_PAY_DATE, pay_by.isoformat())]
    return await _promise(turn, amount_fen=amount, pay_by=pay_by)


async def promise_full(turn: Turn, request: Request) -> Events:
    """"月底全部还清": a promise of the whole amount owed, on a date."""
    due = await turn.client.amount_due(turn.conversation_id)
    pay_by, _ = date_in(request, tz=due["borrower_timezone"])
    if pay_by is None:
        say(turn.dispatcher, "ask_pay_date_for_full")
        return [SlotSet(PENDING_FULL_PAYMENT, True)]
    return await _promise(turn, amount_fen=due["total_due"]["fen"], pay_by=pay_by)


async def show_summary(turn: Turn, quote_id: str) -> Events:
    shown = await turn.client.quote_summary(turn.conversation_id, quote_id)
    say(turn.dispatcher, "quote_summary", summary_text=shown["summary_text"])
    say(turn.dispatcher, "consent_prompt", consent_prompt=shown["consent_prompt"])
    return [SlotSet(SELECTED_QUOTE, quote_id)]


async def choose(turn: Turn, request: Request) -> Events:
    offered = turn.slot(OFFERED_QUOTES) or []
    if not offered:
        say(turn.dispatcher, "no_options_shown")
        return await offer_options(turn, request)
    index = pick_option(request.text, offered)
    if index is None:
        say(turn.dispatcher, "choice_unclear")
        return []
    return await show_summary(turn, offered[index]["quote_id"])


async def accept(turn: Turn, request: Request) -> Events:
    quote_id = turn.slot(SELECTED_QUOTE)
    if not quote_id:
        say(turn.dispatcher, "nothing_to_confirm")
        return []
    if not is_explicit_consent(request.text):
        # D3: the classifier may hear "确认" in "不确认" or "确认一下再说"; only the word binds.
        say(turn.dispatcher, "consent_reask")
        return []
    accepted = await turn.client.accept_quote(
        turn.conversation_id,
        quote_id,
        idempotency_key=f"chat-{turn.conversation_id}-{quote_id}",
        consent_text=CONSENT_TEXT,
        # The gateway's id of the borrower's own 确认 message: the agreement records it as
        # the consent act (D3), and the api checks it is that conversation's borrower's.
        consent_message_id=consent_message_id(turn.tracker.latest_message),
    )
    say(turn.dispatcher, "agreement_recorded", copy_text=accepted["copy_text"])
    say(turn.dispatcher, "agreement_next")
    return [SlotSet(SELECTED_QUOTE, None), SlotSet(OFFERED_QUOTES, [])]


def consent_message_id(message: dict[str, Any]) -> int | None:
    value = (message.get("metadata") or {}).get("message_id")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


async def affirm(turn: Turn, request: Request) -> Events:
    """好/嗯/ok: never consent (D3), but it can accept a human or open the one plan shown."""
    if turn.slot(SELECTED_QUOTE):
        say(turn.dispatcher, "consent_reask")
        return []
    if turn.slot(HUMAN_OFFERED):
        say(turn.dispatcher, "handoff_E2")
        hand_off(turn.dispatcher, "E2", note="accepted the offer of a human")
        return [SlotSet(HUMAN_OFFERED, False)]
    offered = turn.slot(OFFERED_QUOTES) or []
    if len(offered) == 1:
        return await show_summary(turn, offered[0]["quote_id"])
    say(turn.dispatcher, "affirm_general")
    return []


async def deny(turn: Turn, request: Request) -> Events:
    if turn.slot(SELECTED_QUOTE):
        say(turn.dispatcher, "quote_cancelled")
        return [SlotSet(SELECTED_QUOTE, None)]
    if turn.slot(HUMAN_OFFERED):
        say(turn.dispatcher, "human_declined")
        return [SlotSet(HUMAN_OFFERED, False)]
    say(turn.dispatcher, "deny_general")
    return []
