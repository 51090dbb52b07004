"""Quote creation: only after verification (P4), bound to policy version, expiring,
refusals with reason and human path (D2), nothing for a paused loan (O5)."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from api.agreements.models import Quote, QuoteStatus
from api.agreements.terms import terms_hash
from api.audit.models import AuditAction, AuditEvent
from api.offers import policy_for_product
from tests.api.agreements.helpers import (
    LI,
    ZHANG_TOTAL_DUE_FEN,
    create_quotes,
    quotes_url,
    set_loan,
    verified_chat,
)
from tests.conftest import open_chat


@pytest.fixture
async def conversation_id(client, seeded, service_headers) -> str:
    return await verified_chat(client, service_headers)


async def test_quotes_are_refused_before_identity_verification(client, seeded, service_headers):
    chat = await open_chat(client)
    response = await client.post(
        quotes_url(chat["conversation_id"]), json={}, headers=service_headers
    )
    assert response.status_code == 403
    assert response.json()["error"] == "IdentityNotVerified"
    assert "3,250" not in response.text and "PH-2026" not in response.text


async def test_quotes_need_the_service_token(client, seeded, conversation_id):
    response = await client.post(quotes_url(conversation_id), json={})
    assert response.status_code == 401


async def test_unknown_conversation_is_not_found(client, seeded, service_headers):
    response = await client.post(
        quotes_url("00000000-0000-4000-8000-000000000000"), json={}, headers=service_headers
    )
    assert response.status_code == 404
    assert response.json()["error"] == "ConversationNotFound"


async def test_each_eligible_option_becomes_a_stored_quote(
    client, session, service_headers, conversation_id
):
    body = await create_quotes(client, service_headers, conversation_id, hardship_reason="job_loss")
    policy = policy_for_product("普惠信用贷")
    assert body["policy_version"] == policy.version
    assert body["blocked"] is None and body["refused"] == []
    kinds = sorted(q["kind"] for q in body["quotes"])
    assert kinds == sorted(
        ["extension"] * 2 + ["instalment"] * 3 + ["partial_payment", "penalty_waiver"]
    )
    stored = (await session.scalars(select(Quote))).all()
    assert {q.id for q in stored} == {q["quote_id"] for q in body["quotes"]}
    for quote in stored:
        assert quote.status == QuoteStatus.OPEN
        assert quote.policy_version == policy.version == quote.terms["policy_version"]
        assert quote.conversation_id == conversation_id
        assert quote.terms_hash == terms_hash(quote.terms)
        assert quote.total_repayable_fen == sum(i["amount_fen"] for i in quote.terms["schedule"])


async def test_quote_terms_carry_schedule_totals_and_cost(client, service_headers, conversation_id):
    body = await create_quotes(client, service_headers, conversation_id, kind="instalment")
    six = next(q for q in body["quotes"] if q["terms"]["term_months"] == 6)
    terms = six["terms"]
    assert terms["total_due_before"] == {"fen": ZHANG_TOTAL_DUE_FEN, "display": "¥3,250.00"}
    assert len(terms["schedule"]) == 6
    assert sum(i["amount"]["fen"] for i in terms["schedule"]) == terms["total_repayable"]["fen"]
    assert terms["total_repayable"]["fen"] == (
        terms["financed"]["fen"] + terms["interest"]["fen"] + terms["fees"]["fen"]
    )
    assert terms["annual_cost_bp"] <= 2400
    assert terms["annual_cost_display"].endswith("%")
    assert isinstance(terms["flagged_above_lpr_multiple"], bool)
    dates = [i["due_date"] for i in terms["schedule"]]
    assert dates == sorted(dates)
    for item in terms["schedule"]:
        assert item["amount"]["display"].startswith("¥")


async def test_quotes_expire_after_the_configured_ttl(
    client, session, settings, service_headers, conversation_id
):
    body = await create_quotes(client, service_headers, conversation_id, kind="extension")
    for quote in body["quotes"]:
        created = datetime.fromisoformat(quote["created_at"])
        expires = datetime.fromisoformat(quote["expires_at"])
        assert expires - created == timedelta(minutes=settings.quote_ttl_minutes)


async def test_quote_creation_is_audited_without_free_text(
    client, session, service_headers, conversation_id
):
    body = await create_quotes(client, service_headers, conversation_id, kind="instalment")
    events = (
        await session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.QUOTE_CREATED)
        )
    ).all()
    assert sorted(e.payload["quote_id"] for e in events) == sorted(
        q["quote_id"] for q in body["quotes"]
    )
    for event in events:
        assert set(event.payload) >= {"quote_id", "kind", "policy_version", "total_repayable_fen"}
        assert all(not isinstance(v, str) or v.isascii() for v in event.payload.values())


async def test_ineligible_option_comes_back_with_reason_and_human_path(
    client, seeded, service_headers
):
    conversation_id = await verified_chat(client, service_headers, LI)  # no penalty interest
    body = await create_quotes(client, service_headers, conversation_id, kind="penalty_waiver")
    assert body["quotes"] == []
    [refused] = body["refused"]
    assert refused["reason_code"] == "no_penalty_interest"
    assert refused["human_review"] is True
    assert "罚息" in refused["reason_text"]


async def test_waiver_without_hardship_reason_is_refused_not_quoted(
    client, service_headers, conversation_id
):
    body = await create_quotes(client, service_headers, conversation_id, kind="penalty_waiver")
    assert body["quotes"] == []
    assert body["refused"][0]["reason_code"] == "hardship_reason_required"


async def test_paused_loan_gets_no_options(client, session, service_headers, conversation_id):
    await set_loan(session, "张伟", collection_paused=True)
    body = await create_quotes(client, service_headers, conversation_id)
    assert body["quotes"] == [] and body["refused"] == []
    assert body["blocked"]["reason_code"] == "collection_paused"
    assert body["blocked"]["human_review"] is True
    assert "暂停" in body["blocked"]["reason_text"]
    assert (await session.scalars(select(Quote))).all() == []


async def test_another_borrowers_contract_is_not_found(client, service_headers, conversation_id):
    response = await client.post(
        quotes_url(conversation_id), json={"contract_no": "PH-2026-000102"}, headers=service_headers
    )
    assert response.status_code == 404
    assert response.json()["error"] == "LoanNotFound"


async def test_own_contract_can_be_named(client, service_headers, conversation_id):
    body = await create_quotes(
        client, service_headers, conversation_id, contract_no="PH-2026-000101", kind="extension"
    )
    assert body["contract_no"] == "PH-2026-000101" and len(body["quotes"]) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "refinance"},
        {"hardship_reason": "bored"},
        {"contract_no": "x" * 33},
        {"contract_no": "PH\x002026"},
        {"unexpected": 1},
        {"kind": 3},
    ],
)
async def test_bad_quote_requests_are_field_level_422(
    client, service_headers, conversation_id, body
):
    response = await client.post(quotes_url(conversation_id), json=body, headers=service_headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "body"


@pytest.mark.parametrize("conversation_id", ["not-a-uuid", "x" * 500, "%00"])
async def test_malformed_conversation_ids_are_refused(
    client, seeded, service_headers, conversation_id
):
    response = await client.post(quotes_url(conversation_id), json={}, headers=service_headers)
    assert response.status_code in (404, 422)
