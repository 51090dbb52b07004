"""One quote, many simultaneous accepts: exactly one agreement, on both backends."""

import asyncio

from sqlalchemy import func, select

from api.agreements.models import Agreement
from api.audit import service as audit
from api.loans.models import ScheduleItem, ScheduleItemStatus
from tests.api.agreements.helpers import accept, agreement_count, quote_of_kind, verified_chat

CONCURRENT = 20


async def test_concurrent_accepts_of_one_quote_create_exactly_one_agreement(
    client, session, seeded, service_headers
):
    conversation_id = await verified_chat(client, service_headers)
    quote = await quote_of_kind(client, service_headers, conversation_id, "instalment")
    responses = await asyncio.gather(
        *(
            accept(client, service_headers, conversation_id, quote["quote_id"], key=f"key-{n}")
            for n in range(CONCURRENT)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * (CONCURRENT - 1), [r.text for r in responses]
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {
        "QuoteAlreadyAccepted"
    }
    assert await agreement_count(session) == 1
    pending = await session.scalar(
        select(func.count())
        .select_from(ScheduleItem)
        .where(ScheduleItem.status == ScheduleItemStatus.PENDING)
    )
    assert pending == len(quote["terms"]["schedule"])
    assert (await audit.verify(session)).ok


async def test_concurrent_retries_with_one_key_all_get_the_same_agreement(
    client, session, seeded, service_headers
):
    conversation_id = await verified_chat(client, service_headers)
    quote = await quote_of_kind(client, service_headers, conversation_id, "extension")
    responses = await asyncio.gather(
        *(
            accept(client, service_headers, conversation_id, quote["quote_id"], key="retry")
            for _ in range(CONCURRENT // 2)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * (CONCURRENT // 2 - 1) + [201]
    assert len({r.json()["agreement_id"] for r in responses}) == 1
    assert await agreement_count(session) == 1


async def test_concurrent_accepts_of_sibling_quotes_bind_only_one(
    client, session, seeded, service_headers
):
    conversation_id = await verified_chat(client, service_headers)
    body = await client.post(
        f"/internal/v1/conversations/{conversation_id}/quotes", json={}, headers=service_headers
    )
    quote_ids = [q["quote_id"] for q in body.json()["quotes"]]
    responses = await asyncio.gather(
        *(accept(client, service_headers, conversation_id, quote_id) for quote_id in quote_ids)
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * (len(quote_ids) - 1)
    assert await session.scalar(select(func.count()).select_from(Agreement)) == 1
