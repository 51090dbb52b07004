"""The D3 summary the bot shows before asking for consent."""

import pytest

from api.agreements.models import Quote
from tests.api.agreements.helpers import (
    LI,
    accept,
    create_quotes,
    expire,
    quote_of_kind,
    set_loan,
    set_quote,
    summary_url,
    verified_chat,
)


@pytest.fixture
async def conversation_id(client, seeded, service_headers) -> str:
    return await verified_chat(client, service_headers)


async def summary(client, headers, conversation_id, quote_id):
    return await client.get(summary_url(conversation_id, quote_id), headers=headers)


@pytest.mark.parametrize("kind", ["extension", "instalment", "partial_payment", "penalty_waiver"])
async def test_summary_states_amount_schedule_cost_fees_and_missed_payment(
    client, service_headers, conversation_id, kind
):
    body = await create_quotes(
        client, service_headers, conversation_id, kind=kind, hardship_reason="illness"
    )
    quote = body["quotes"][0]
    response = await summary(client, service_headers, conversation_id, quote["quote_id"])
    assert response.status_code == 200
    shown = response.json()
    text, terms = shown["summary_text"], shown["quote"]["terms"]
    assert terms == quote["terms"]
    assert terms["total_repayable"]["display"] in text
    assert terms["annual_cost_display"] in text
    assert "费用说明" in text and "如" in text and "未按时足额还款" in text
    for item in terms["schedule"]:
        assert item["amount"]["display"] in text
        year, month, day = item["due_date"].split("-")
        assert f"{int(year)}年{int(month)}月{int(day)}日" in text
    if terms["fees"]["fen"]:
        assert terms["fees"]["display"] in text and terms["fee_clause"] in text
    if terms["remaining_balance"]["fen"]:
        assert terms["remaining_balance"]["display"] in text
    if terms["waived"]["fen"]:
        assert terms["waived"]["display"] in text
    assert "确认" in shown["consent_prompt"]


async def test_summary_of_an_expired_quote_is_gone(
    client, session, service_headers, conversation_id
):
    quote = await quote_of_kind(client, service_headers, conversation_id)
    await expire(session, quote["quote_id"])
    response = await summary(client, service_headers, conversation_id, quote["quote_id"])
    assert response.status_code == 410


async def test_summary_of_a_tampered_quote_is_refused(
    client, session, service_headers, conversation_id
):
    quote = await quote_of_kind(client, service_headers, conversation_id)
    stored = await session.get(Quote, quote["quote_id"])
    await set_quote(session, quote["quote_id"], terms={**stored.terms, "annual_cost_bp": 1})
    response = await summary(client, service_headers, conversation_id, quote["quote_id"])
    assert response.status_code == 409


async def test_summary_of_an_accepted_quote_matches_the_agreement(
    client, service_headers, conversation_id
):
    quote = await quote_of_kind(client, service_headers, conversation_id)
    before = (await summary(client, service_headers, conversation_id, quote["quote_id"])).json()
    agreement = (await accept(client, service_headers, conversation_id, quote["quote_id"])).json()
    after = (await summary(client, service_headers, conversation_id, quote["quote_id"])).json()
    assert before["summary_text"] == agreement["summary_text"] == after["summary_text"]
    assert after["quote"]["status"] == "accepted"


async def test_summary_of_someone_elses_quote_is_not_found(
    client, seeded, service_headers, conversation_id
):
    quote = await quote_of_kind(client, service_headers, conversation_id)
    li_chat = await verified_chat(client, service_headers, LI)
    response = await summary(client, service_headers, li_chat, quote["quote_id"])
    assert response.status_code == 404
    assert "PH-2026" not in response.text


@pytest.mark.parametrize("quote_id", ["nope", "0" * 37])
async def test_malformed_quote_id_is_refused(client, service_headers, conversation_id, quote_id):
    response = await summary(client, service_headers, conversation_id, quote_id)
    assert response.status_code == 422


async def test_summary_of_a_quote_on_a_paused_loan_is_refused(
    client, session, service_headers, conversation_id
):
    quote = await quote_of_kind(client, service_headers, conversation_id)
    await set_loan(session, "张伟", collection_paused=True)
    response = await summary(client, service_headers, conversation_id, quote["quote_id"])
    assert response.status_code == 409
    assert response.json()["error"] == "CollectionPausedForLoan"
