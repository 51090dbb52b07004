"""Accepting a quote (D3): explicit consent, one agreement, new schedule, audit (A2)."""

import shutil

import pytest
from sqlalchemy import select

from api.agreements.models import Agreement, AgreementStatus, Quote, QuoteStatus
from api.agreements.terms import terms_hash
from api.audit import service as audit
from api.audit.models import AuditAction, AuditEvent
from api.gateway.models import Message, MessageStatus, Sender
from api.loans.models import ScheduleItem, ScheduleItemStatus
from api.offers import policy as offers_policy
from tests.api.agreements.helpers import (
    LI,
    accept,
    accept_url,
    agreement_count,
    expire,
    loan_of,
    quote_of_kind,
    set_loan,
    set_quote,
    verified_chat,
)
from tests.conftest import open_chat


@pytest.fixture
async def conversation_id(client, seeded, service_headers) -> str:
    return await verified_chat(client, service_headers)


@pytest.fixture
async def quote(client, service_headers, conversation_id) -> dict:
    return await quote_of_kind(client, service_headers, conversation_id, "instalment")


async def test_accepting_creates_agreement_schedule_and_audit_event(
    client, session, service_headers, conversation_id, quote
):
    response = await accept(client, service_headers, conversation_id, quote["quote_id"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["replayed"] is False
    assert body["agreement_no"].startswith("AG-")
    assert body["schedule"] == quote["terms"]["schedule"]
    assert body["total_repayable"] == quote["terms"]["total_repayable"]
    assert body["consent_text"] == "确认" and body["channel"] == "web"
    assert body["agreement_no"] in body["copy_text"]

    agreement = await session.scalar(select(Agreement))
    assert agreement.quote_id == quote["quote_id"]
    assert agreement.terms_hash == terms_hash(agreement.terms)
    assert agreement.conversation_id == conversation_id
    stored = await session.get(Quote, quote["quote_id"])
    assert stored.status == QuoteStatus.ACCEPTED

    loan = await loan_of(session, "张伟")
    items = (
        await session.scalars(
            select(ScheduleItem).where(ScheduleItem.loan_id == loan.id).order_by(ScheduleItem.seq)
        )
    ).all()
    old = [i for i in items if i.agreement_id is None]
    new = [i for i in items if i.agreement_id == agreement.id]
    assert [i.status for i in old] == [ScheduleItemStatus.SUPERSEDED]
    assert [(i.due_date.isoformat(), i.amount_fen) for i in new] == [
        (i["due_date"], i["amount"]["fen"]) for i in quote["terms"]["schedule"]
    ]
    assert all(i.status == ScheduleItemStatus.PENDING for i in new)

    [event] = (
        await session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.AGREEMENT_CREATED)
        )
    ).all()
    assert event.payload["agreement_id"] == agreement.id
    assert event.payload["terms_hash"] == agreement.terms_hash
    assert event.actor == f"borrower-session:{conversation_id}"
    report = await audit.verify(session)
    assert report.ok and report.checked >= 2


async def test_summary_text_covers_what_d3_requires(
    client, session, service_headers, conversation_id, quote
):
    response = await accept(client, service_headers, conversation_id, quote["quote_id"])
    summary = response.json()["summary_text"]
    terms = quote["terms"]
    assert terms["total_repayable"]["display"] in summary
    assert terms["annual_cost_display"] in summary
    for item in terms["schedule"]:
        assert item["amount"]["display"] in summary
    assert "费用" in summary and "如任何一期未按时足额还款" in summary
    agreement = await session.scalar(select(Agreement))
    assert agreement.summary_text == summary


@pytest.mark.parametrize("consent", ["好吧", "嗯", "ok", "", "   ", "确认吗", "不确认", "确 认"])
async def test_anything_but_explicit_consent_is_refused(
    client, session, service_headers, conversation_id, quote, consent
):
    response = await accept(
        client, service_headers, conversation_id, quote["quote_id"], consent_text=consent
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "consent_text"]
    assert "确认" in error["msg"]
    assert await agreement_count(session) == 0


async def test_consent_with_surrounding_whitespace_counts(
    client, service_headers, conversation_id, quote
):
    response = await accept(
        client, service_headers, conversation_id, quote["quote_id"], consent_text=" 确认\n"
    )
    assert response.status_code == 201


@pytest.mark.parametrize("key", [None, "", "has space", "x" * 129, "中文"])
async def test_idempotency_key_is_required_and_bounded(
    client, service_headers, conversation_id, quote, key
):
    headers = dict(service_headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    response = await client.post(
        accept_url(conversation_id, quote["quote_id"]),
        json={"consent_text": "确认"},
        headers={k: v.encode() if k == "Idempotency-Key" else v for k, v in headers.items()},
    )
    assert response.status_code == 422


async def test_expired_quote_is_refused(client, session, service_headers, conversation_id, quote):
    await expire(session, quote["quote_id"])
    response = await accept(client, service_headers, conversation_id, quote["quote_id"])
    assert response.status_code == 410
    assert response.json()["error"] == "QuoteExpired"
    assert await agreement_count(session) == 0


async def test_accepting_twice_is_refused_and_same_key_replays(
    client, session, service_headers, conversation_id, quote
):
    first = await accept(client, service_headers, conversation_id, quote["quote_id"], key="key-1")
    again = await accept(client, service_headers, conversation_id, quote["quote_id"], key="key-2")
    replay = await accept(client, service_headers, conversation_id, quote["quote_id"], key="key-1")
    assert first.status_code == 201
    assert again.status_code == 409 and again.json()["error"] == "QuoteAlreadyAccepted"
    assert replay.status_code == 200
    assert replay.json()["replayed"] is True
    assert replay.json()["agreement_id"] == first.json()["agreement_id"]
    assert replay.json()["agreement_no"] == first.json()["agreement_no"]
    assert await agreement_count(session) == 1


async def test_same_key_for_another_quote_is_refused(
    client, session, seeded, service_headers, conversation_id, quote
):
    other_chat = await verified_chat(client, service_headers, LI)
    other = await quote_of_kind(client, service_headers, other_chat, "extension")
    first = await accept(client, service_headers, conversation_id, quote["quote_id"], key="shared")
    second = await accept(client, service_headers, other_chat, other["quote_id"], key="shared")
    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["error"] == "IdempotencyKeyReused"
    assert "Idempotency-Key" in second.json()["detail"]
    assert await agreement_count(session) == 1


async def test_tampered_terms_are_refused(client, session, service_headers, conversation_id, quote):
    stored = await session.get(Quote, quote["quote_id"])
    terms = {**stored.terms, "total_repayable_fen": stored.terms["total_repayable_fen"] - 10_000}
    await set_quote(session, quote["quote_id"], terms=terms)
    response = await accept(client, service_headers, conversation_id, quote["quote_id"])
    assert response.status_code == 409
    assert response.json()["error"] == "QuoteTampered"
    assert await agreement_count(session) == 0


async def test_rewriting_terms_and_hash_together_is_still_caught(
    client, session, service_headers, conversation_id, quote
):
    stored = await session.get(Quote, quote["quote_id"])
    schedule = [{**item, "amount_fen": item["amount_fen"] - 1} for item in stored.terms["schedule"]]
    terms = {**stored.terms, "schedule": schedule}
    await set_quote(session, quote["quote_id"], terms=terms, terms_hash=terms_hash(terms))
    response = await accept(client, service_headers, conversation_id, quote["quote_id"])
    assert response.status_code == 409
    assert response.json()["error"] == "QuoteTampered"


async def test_another_borrowers_quote_is_not_found(
    client, session, seeded, service_headers, conversation_id, quote
):
    li_chat = await verified_chat(client, service_headers, LI)
    foreign = await accept(client, service_headers, li_chat, quote["quote_id"])
    unknown = await accept(
        client, service_headers, li_chat, "00000000-0000-4000-8000-000000000000"
    )
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()  # nothing tells the two apart
    assert foreign.json()["error"] == "QuoteNotFound"
    assert await agreement_count(session) == 0


async def test_quote_from_another_conversation_of_the_same_borrower_is_not_found(
    client, service_headers, conversation_id, quote
):
    later_chat = await verified_chat(client, service_headers)
    response = await accept(client, service_headers, later_chat, quote["quote_id"])
    assert response.status_code == 404


async def test_accepting_is_refused_before_verification(client, seeded, service_headers, quote):
    chat = await open_chat(client)
    response = await accept(client, service_headers, chat["conversation_id"], quote["quote_id"])
    assert response.status_code == 403


async def test_changed_policy_requires_a_new_quote(
    client, session, service_headers, conversation_id, quote, tmp_path, monkeypatch
):
    policies = tmp_path / "policies"
    shutil.copytree(offers_policy.POLICY_DIR, policies)
    for path in policies.glob("*.yml"):
        path.write_text(path.read_text(encoding="utf-8") + "\n# tuned\n", encoding="utf-8")
    monkeypatch.setattr(offers_policy, "POLICY_DIR", policies)
    response = await accept(client, service_headers, conversation_id, quote["quote_id"])
    assert response.status_code == 409
    assert response.json()["error"] == "QuotePolicyChanged"


async def test_changed_balance_requires_a_new_quote(
    client, session, service_headers, conversation_id, quote
):
    loan = await loan_of(session, "张伟")
    await set_loan(session, "张伟", fees_fen=loan.fees_fen - 1_000)
    response = await accept(client, service_headers, conversation_id, quote["quote_id"])
    assert response.status_code == 409
    assert response.json()["error"] == "QuoteStale"


async def test_paused_loan_cannot_be_bound(
    client, session, service_headers, conversation_id, quote
):
    await set_loan(session, "张伟", collection_paused=True)
    response = await accept(client, service_headers, conversation_id, quote["quote_id"])
    assert response.status_code == 409
    assert response.json()["error"] == "CollectionPausedForLoan"
    assert await agreement_count(session) == 0


async def test_accepting_withdraws_the_loans_other_quotes(
    client, session, service_headers, conversation_id, quote
):
    other = await quote_of_kind(client, service_headers, conversation_id, "extension")
    first = await accept(client, service_headers, conversation_id, quote["quote_id"])
    assert first.status_code == 201
    response = await accept(client, service_headers, conversation_id, other["quote_id"])
    assert response.status_code == 409
    assert response.json()["error"] == "QuoteWithdrawn"


async def test_a_new_agreement_supersedes_the_previous_one(
    client, session, service_headers, conversation_id, quote
):
    first = await accept(client, service_headers, conversation_id, quote["quote_id"])
    later = await quote_of_kind(client, service_headers, conversation_id, "extension")
    second = await accept(client, service_headers, conversation_id, later["quote_id"])
    assert second.status_code == 201
    old = await session.get(Agreement, first.json()["agreement_id"])
    await session.refresh(old)
    assert old.status == AgreementStatus.SUPERSEDED
    open_items = (
        await session.scalars(
            select(ScheduleItem).where(ScheduleItem.status == ScheduleItemStatus.PENDING)
        )
    ).all()
    assert {i.agreement_id for i in open_items} == {second.json()["agreement_id"]}
    assert (await audit.verify(session)).ok


async def _borrower_message(
    session, conversation_id: str, text: str, sender=Sender.BORROWER
) -> int:
    message = Message(
        conversation_id=conversation_id, sender=sender, text=text, status=MessageStatus.ROUTED
    )
    session.add(message)
    await session.commit()
    return message.id


async def test_consent_message_is_recorded(
    client, session, service_headers, conversation_id, quote
):
    message_id = await _borrower_message(session, conversation_id, "确认")
    response = await accept(
        client, service_headers, conversation_id, quote["quote_id"], consent_message_id=message_id
    )
    assert response.status_code == 201
    assert response.json()["consent_message_id"] == message_id


@pytest.mark.parametrize("text, sender", [("好吧", Sender.BORROWER), ("确认", Sender.BOT)])
async def test_consent_message_must_be_the_borrowers_confirmation(
    client, session, service_headers, conversation_id, quote, text, sender
):
    message_id = await _borrower_message(session, conversation_id, text, sender)
    response = await accept(
        client, service_headers, conversation_id, quote["quote_id"], consent_message_id=message_id
    )
    assert response.status_code == 422
    assert response.json()["error"] == "ConsentMessageInvalid"


@pytest.mark.parametrize("message_id", [0, -1, 2**31, 1.5, "1"])
async def test_bad_consent_message_ids_are_422(
    client, service_headers, conversation_id, quote, message_id
):
    response = await accept(
        client, service_headers, conversation_id, quote["quote_id"], consent_message_id=message_id
    )
    assert response.status_code == 422


async def test_unknown_consent_message_is_refused(client, service_headers, conversation_id, quote):
    response = await accept(
        client, service_headers, conversation_id, quote["quote_id"], consent_message_id=999_999
    )
    assert response.status_code == 422
    assert response.json()["error"] == "ConsentMessageInvalid"
