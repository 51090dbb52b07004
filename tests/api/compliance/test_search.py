"""Search: Chinese free text through the trigram index, short-term fallback, filters, pages."""

from datetime import timedelta

import pytest
from sqlalchemy import text, update

from api.compliance.models import Review
from api.gateway.models import Channel, Escalation, Message, ReasonCode
from api.users.models import Role
from tests.api.compliance.helpers import T0, agreement_in_chat, make_conversation, staff_headers

URL = "/api/v1/compliance/conversations"


@pytest.fixture
async def headers(client, session):
    return await staff_headers(client, session)


@pytest.fixture
async def corpus(session):
    lawyer = await make_conversation(session, [("borrower", "我已经委托律师处理这笔借款了")], started=T0)
    dispute = await make_conversation(
        session, [("borrower", "这笔钱不是我借的，我要投诉"), ("borrower", "我的电话13812345678")],
        channel=Channel.WECHAT, started=T0 + timedelta(days=1))
    plain = await make_conversation(session, [("borrower", "我想分期还款")], started=T0 + timedelta(days=2))
    return {"lawyer": lawyer.id, "dispute": dispute.id, "plain": plain.id}


async def ids(client, headers, **params) -> list[str]:
    response = await client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["conversation_id"] for item in response.json()["items"]]


async def test_chinese_phrase_is_found_through_the_index(client, headers, corpus):
    response = await client.get(URL, params={"q": "不是我借的"}, headers=headers)
    body = response.json()
    assert [i["conversation_id"] for i in body["items"]] == [corpus["dispute"]]
    assert body["text_mode"] == "index"
    assert "不是我借的" in body["items"][0]["snippet"]


async def test_all_terms_must_appear_in_one_message(client, headers, corpus):
    assert await ids(client, headers, q="委托律师 借款") == [corpus["lawyer"]]
    assert await ids(client, headers, q="委托律师 分期还款") == []


async def test_two_character_term_falls_back_to_an_exact_scan(client, headers, corpus):
    response = await client.get(URL, params={"q": "律师"}, headers=headers)
    assert response.json()["text_mode"] == "scan"
    assert [i["conversation_id"] for i in response.json()["items"]] == [corpus["lawyer"]]
    assert await ids(client, headers, q="投诉 不是我借") == [corpus["dispute"]]


async def test_like_wildcards_in_the_query_are_literal(client, headers, corpus):
    assert await ids(client, headers, q="%") == []
    assert await ids(client, headers, q='"律师" OR x') == []


async def test_snippets_are_masked(client, headers, corpus):
    response = await client.get(URL, params={"q": "电话138"}, headers=headers)
    [item] = response.json()["items"]
    assert "13812345678" not in item["snippet"] and "138****5678" in item["snippet"]


async def test_index_follows_updates_and_deletes(client, headers, corpus, session):
    await session.execute(update(Message).where(Message.conversation_id == corpus["plain"],
                                                Message.sender == "borrower").values(text="我想申请展期三个月"))
    await session.commit()
    assert await ids(client, headers, q="分期还款") == []
    assert await ids(client, headers, q="申请展期") == [corpus["plain"]]


async def test_structured_filters(client, headers, corpus, session):
    session.add(Escalation(conversation_id=corpus["dispute"], reason_code=ReasonCode.DISPUTE, urgency=2,
                           created_at=T0))
    await session.commit()
    assert await ids(client, headers, channel="wechat") == [corpus["dispute"]]
    assert await ids(client, headers, escalation_reason="E1") == [corpus["dispute"]]
    assert await ids(client, headers, date_from="2026-03-03", date_to="2026-03-03") == [corpus["dispute"]]
    assert await ids(client, headers, date_to="2026-03-02") == [corpus["lawyer"]]


async def test_filter_by_flag_rule_and_by_latest_verdict(client, headers, corpus, session):
    flagged = await make_conversation(session, [("borrower", "你好"), ("bot", "您已逾期 12 天")])
    assert await ids(client, headers, rule_id="P4") == [flagged.id]
    reviewer = (await client.get("/api/v1/auth/me", headers=headers)).json()["id"]
    session.add_all([
        Review(conversation_id=corpus["plain"], reviewer_id=reviewer, verdict="breach", comment="", created_at=T0),
        Review(conversation_id=corpus["plain"], reviewer_id=reviewer, verdict="compliant", comment="", created_at=T0),
    ])
    await session.commit()
    assert await ids(client, headers, verdict="compliant") == [corpus["plain"]]
    assert await ids(client, headers, verdict="breach") == []


async def test_filter_by_borrower_and_agreement_kind(client, headers, session, seeded, service_headers):
    conversation_id, _ = await agreement_in_chat(client, session, service_headers)
    response = await client.get(URL, params={"agreement_kind": "instalment"}, headers=headers)
    [item] = response.json()["items"]
    assert item["conversation_id"] == conversation_id and item["agreement_kinds"] == ["instalment"]
    assert await ids(client, headers, borrower_id=item["borrower_id"]) == [conversation_id]
    assert await ids(client, headers, agreement_kind="extension") == []


async def test_pages_are_newest_first(client, headers, corpus):
    first = await client.get(URL, params={"page_size": 2}, headers=headers)
    second = await client.get(URL, params={"page_size": 2, "page": 2}, headers=headers)
    assert first.json()["total"] == 3
    assert [i["conversation_id"] for i in first.json()["items"]] == [corpus["plain"], corpus["dispute"]]
    assert [i["conversation_id"] for i in second.json()["items"]] == [corpus["lawyer"]]


async def test_collectors_may_not_search(client, session):
    collector = await staff_headers(client, session, Role.COLLECTOR)
    assert (await client.get(URL, headers=collector)).status_code == 403


async def test_the_free_text_index_exists(session):
    dialect = (await session.connection()).dialect.name
    if dialect == "sqlite":
        triggers = (await session.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'messages'"))).scalars().all()
        assert set(triggers) == {"messages_fts_ai", "messages_fts_ad", "messages_fts_au"}
        plan = (await session.execute(text(
            "EXPLAIN QUERY PLAN SELECT rowid FROM messages_fts WHERE messages_fts MATCH '\"律师函\"'"))).all()
        assert "VIRTUAL TABLE INDEX" in str(plan)
    else:
        definition = await session.scalar(text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_messages_text_trgm'"))
        assert "gin_trgm_ops" in definition
