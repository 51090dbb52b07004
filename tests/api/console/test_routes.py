"""The console through its routes: queue, claim, the conversation view, send, hand back,
close, notes — the real app and database on SQLite and PostgreSQL, Rasa faked."""

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from api.audit.models import AuditEvent
from api.audit.service import verify
from api.console.models import ConsoleNote
from api.core.db import utcnow
from api.gateway.models import Conversation, Escalation, Message
from tests.api.console.conftest import CONSOLE, ZHANG, url

GREETING = "您好，我是AI助手，人工客服已处理完毕，接下来由我继续为您服务。"


async def _actions(session, conversation_id: str, actor_prefix: str = "user:") -> list[str]:
    session.expire_all()
    events = (await session.scalars(
        select(AuditEvent).where(AuditEvent.subject == f"conversation:{conversation_id}",
                                 AuditEvent.actor.startswith(actor_prefix)).order_by(AuditEvent.seq)
    )).all()
    return [e.action for e in events]


async def _claim(client, headers, conversation_id: str) -> dict:
    response = await client.post(url(conversation_id, "claim"), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# --- queue -----------------------------------------------------------------------------


async def test_queue_is_ordered_by_urgency_then_waiting_time(client, session, staff, escalate):
    by_reason = {}
    for reason in ("negotiation_failed", "E2", "E1", "E3", "complaint", "E4"):
        by_reason[reason] = (await escalate(reason)).id
    second_request = (await escalate("E2")).id
    # The second request for a person has waited longer than the first: it goes first.
    await session.execute(update(Escalation).where(Escalation.conversation_id == second_request)
                          .values(created_at=utcnow() - timedelta(minutes=30)))
    await session.commit()

    response = await client.get(f"{CONSOLE}/queue", headers=staff["collector-a"])

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["conversation_id"] for i in items] == [
        by_reason["E3"],  # distress
        by_reason["E1"], by_reason["complaint"], by_reason["E4"],  # dispute, complaint, lawyer: by age
        second_request, by_reason["E2"],  # requests for a person: longest waiting first
        by_reason["negotiation_failed"],
    ]
    assert [i["urgency"] for i in items] == [1, 2, 2, 2, 3, 3, 4]
    first = items[0]
    assert first["reason_code"] == "E3" and "紧急" in first["reason_label"]
    assert first["claimed_by"] is None and first["state"] == "waiting_for_agent"
    assert items[4]["waiting_seconds"] >= 30 * 60 > items[5]["waiting_seconds"]


async def test_a_claimed_conversation_stays_in_the_queue_with_its_holder(client, staff, escalate):
    borrower = await escalate("E2")
    await _claim(client, staff["collector-a"], borrower.id)

    [item] = (await client.get(f"{CONSOLE}/queue", headers=staff["collector-b"])).json()["items"]

    assert item["state"] == "agent"
    assert item["claimed_by"]["display_name"] == "王催收"


# --- claim -----------------------------------------------------------------------------


async def test_of_two_concurrent_claims_exactly_one_wins_and_the_other_learns_who(
    client, session, staff, escalate
):
    borrower = await escalate("E1")

    responses = await asyncio.gather(
        client.post(url(borrower.id, "claim"), headers=staff["collector-a"]),
        client.post(url(borrower.id, "claim"), headers=staff["collector-b"]),
    )

    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    won = next(r.json() for r in responses if r.status_code == 200)
    lost = next(r.json() for r in responses if r.status_code == 409)
    assert lost["error"] == "AlreadyClaimed"
    assert lost["claimed_by"] == won["claimed_by"]
    assert won["claimed_by"]["display_name"] in lost["detail"]
    session.expire_all()
    [row] = (await session.scalars(select(Escalation).where(Escalation.conversation_id == borrower.id))).all()
    assert row.claimed_by == won["claimed_by"]["user_id"]
    actions = await _actions(session, borrower.id)
    assert actions.count("escalation.claimed") == 1
    assert actions.count("console.claim_refused") == 1
    assert (await verify(session)).ok


async def test_many_concurrent_claims_still_give_one_holder(client, session, staff, escalate):
    borrower = await escalate("E2")
    callers = [staff["collector-a"], staff["collector-b"], staff["admin"]] * 3

    responses = await asyncio.gather(*(client.post(url(borrower.id, "claim"), headers=h) for h in callers))

    assert sorted(r.status_code for r in responses) == [200] + [409] * (len(callers) - 1)
    holders = {r.json()["claimed_by"]["user_id"] for r in responses}
    assert len(holders) == 1
    assert (await verify(session)).ok


async def test_claiming_a_conversation_nobody_escalated_is_not_found(client, staff, bot):
    from tests.conftest import open_chat

    chat = await open_chat(client)
    response = await client.post(url(chat["conversation_id"], "claim"), headers=staff["collector-a"])
    assert response.status_code == 404
    assert response.json()["error"] == "NotInConsole"


# --- conversation view -------------------------------------------------------------------


async def test_view_of_a_verified_borrower_shows_loan_quotes_preferences_and_escalation(
    client, session, seeded, staff, escalate, service_headers
):
    borrower = await escalate("E1", verify=ZHANG, service_headers=service_headers)
    quotes = await client.post(f"/internal/v1/conversations/{borrower.id}/quotes", json={},
                               headers=service_headers)
    assert quotes.status_code == 201, quotes.text

    response = await client.get(url(borrower.id), headers=staff["collector-a"])

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["verification"]["verified"] is True
    assert view["borrower"]["full_name"] == "张伟"
    assert [loan["total_due"]["display"] for loan in view["loans"]] == ["¥3,250.00"]
    assert {q["id"] for q in view["quotes"]} == {q["quote_id"] for q in quotes.json()["quotes"]}
    assert all(q["kind_label"] and q["annual_cost_display"].endswith("%") for q in view["quotes"])
    assert view["contact_preferences"]["no_workplace_contact"] is False
    [escalation] = view["escalations"]
    assert escalation["reason_code"] == "E1" and escalation["reason_label"].startswith("争议")
    assert "转人工 E1" in [m["text"] for m in view["messages"] if m["sender"] == "borrower"]
    assert view["held_by_you"] is False
    assert "transcript.viewed" in await _actions(session, borrower.id)


async def test_view_of_an_unverified_party_discloses_no_debt(client, seeded, staff, escalate):
    borrower = await escalate("third_party")

    view = (await client.get(url(borrower.id), headers=staff["collector-a"])).json()

    assert view["verification"]["verified"] is False
    assert view["borrower"] is None and view["loans"] == [] and view["quotes"] == []
    assert view["contact_preferences"] is None


async def test_view_masks_id_and_phone_numbers(client, staff, escalate):
    borrower = await escalate("E2")
    await borrower.say("我的手机号是13812345678")

    view = (await client.get(url(borrower.id), headers=staff["collector-a"])).json()

    texts = " ".join(m["text"] for m in view["messages"])
    assert "13812345678" not in texts


# --- send --------------------------------------------------------------------------------


async def test_a_passing_message_reaches_the_borrower_transcript_and_is_audited(
    client, session, staff, escalate
):
    borrower = await escalate("E2")
    await _claim(client, staff["collector-a"], borrower.id)

    response = await client.post(url(borrower.id, "messages"), json={"text": "您好，我是人工客服，请问有什么可以帮您？"},
                                 headers=staff["collector-a"])

    assert response.status_code == 201, response.text
    assert response.json()["message"]["author_name"] == "王催收"
    last = (await borrower.transcript())["messages"][-1]
    assert (last["sender"], last["text"]) == ("agent", "您好，我是人工客服，请问有什么可以帮您？")
    assert (await _actions(session, borrower.id))[-1] == "console.message_sent"
    view = (await client.get(url(borrower.id), headers=staff["collector-b"])).json()
    assert view["messages"][-1]["author_name"] == "王催收"  # earlier collectors are named


async def test_a_workplace_threat_is_blocked_with_its_rule_and_audited(client, session, staff, escalate):
    borrower = await escalate("E2")
    await _claim(client, staff["collector-a"], borrower.id)
    before = len((await borrower.transcript())["messages"])

    response = await client.post(url(borrower.id, "messages"), json={"text": "再不还钱，我们就联系你单位领导。"},
                                 headers=staff["collector-a"])

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "MessageBlocked"
    assert "P3" in {v["rule_id"] for v in body["violations"]}
    assert all(v["reason"] and v["category"] for v in body["violations"])
    assert len((await borrower.transcript())["messages"]) == before  # nothing went out
    session.expire_all()
    [event] = (await session.scalars(select(AuditEvent).where(
        AuditEvent.action == "console.message_blocked"))).all()
    assert event.actor.startswith("user:") and event.subject == f"conversation:{borrower.id}"
    assert {v["rule_id"] for v in event.payload["violations"]} >= {"P3"}


async def test_debt_detail_to_an_unverified_party_is_blocked(client, staff, escalate):
    borrower = await escalate("third_party")
    await _claim(client, staff["collector-a"], borrower.id)

    response = await client.post(url(borrower.id, "messages"), json={"text": "您目前逾期欠款¥3,250.00，请尽快还款。"},
                                 headers=staff["collector-a"])

    assert response.status_code == 422
    assert response.json()["party_verified"] is False
    assert {v["rule_id"] for v in response.json()["violations"]} & {"P1", "P4"}


async def test_the_same_figure_may_go_to_the_verified_borrower(client, seeded, staff, escalate, service_headers):
    borrower = await escalate("E2", verify=ZHANG, service_headers=service_headers)
    await _claim(client, staff["collector-a"], borrower.id)

    response = await client.post(url(borrower.id, "messages"), json={"text": "您目前应还总额为¥3,250.00。"},
                                 headers=staff["collector-a"])

    assert response.status_code == 201, response.text


async def test_only_the_holder_may_send(client, staff, escalate):
    borrower = await escalate("E2")
    unclaimed = await client.post(url(borrower.id, "messages"), json={"text": "您好"}, headers=staff["collector-a"])
    await _claim(client, staff["collector-a"], borrower.id)
    other = await client.post(url(borrower.id, "messages"), json={"text": "您好"}, headers=staff["collector-b"])
    admin = await client.post(url(borrower.id, "messages"), json={"text": "您好"}, headers=staff["admin"])

    assert [r.status_code for r in (unclaimed, other, admin)] == [409, 409, 409]
    assert {r.json()["error"] for r in (unclaimed, other, admin)} == {"NotYourConversation"}


async def test_a_blank_draft_is_refused(client, staff, escalate):
    borrower = await escalate("E2")
    await _claim(client, staff["collector-a"], borrower.id)
    response = await client.post(url(borrower.id, "messages"), json={"text": "   "}, headers=staff["collector-a"])
    assert response.status_code == 422
    assert "violations" not in response.json()


# --- hand back and close -------------------------------------------------------------------


async def test_hand_back_resumes_the_bot_which_greets_and_answers_again(client, session, staff, escalate, bot):
    borrower = await escalate("E2")
    await _claim(client, staff["collector-a"], borrower.id)

    response = await client.post(url(borrower.id, "hand-back"), headers=staff["collector-a"])

    assert response.status_code == 200, response.text
    assert response.json()["state"] == "bot"
    assert bot.event_names(borrower.id)[-1] == "resume"
    last = (await borrower.transcript())["messages"][-1]
    assert last["sender"] == "bot" and last["text"].startswith(GREETING)
    reply = await borrower.say("你好")
    assert reply["state"] == "bot" and reply["messages"][0]["text"] == "好的，我来帮您看看。"
    session.expire_all()
    [row] = (await session.scalars(select(Escalation).where(Escalation.conversation_id == borrower.id))).all()
    assert row.outcome == "handed_back" and row.resolved_at is not None
    queue = (await client.get(f"{CONSOLE}/queue", headers=staff["collector-a"])).json()["items"]
    assert queue == []


async def test_hand_back_when_rasa_refuses_leaves_the_collector_in_charge(client, session, staff, escalate, bot):
    borrower = await escalate("E2")
    await _claim(client, staff["collector-a"], borrower.id)
    bot.events_status = 500

    response = await client.post(url(borrower.id, "hand-back"), headers=staff["collector-a"])

    assert response.status_code == 503
    session.expire_all()
    assert (await session.get(Conversation, borrower.id)).state == "agent"
    texts = [m["text"] for m in (await borrower.transcript())["messages"]]
    assert not any(t.startswith(GREETING) for t in texts)


async def test_close_records_the_outcome_and_tells_the_borrower(client, session, staff, escalate):
    borrower = await escalate("E1")
    await _claim(client, staff["collector-a"], borrower.id)

    response = await client.post(url(borrower.id, "close"), json={"outcome": "dispute_opened"},
                                 headers=staff["collector-a"])

    assert response.status_code == 200, response.text
    session.expire_all()
    conversation = await session.get(Conversation, borrower.id)
    assert (conversation.state, conversation.close_outcome) == ("closed", "dispute_opened")
    assert "本次会话已结束" in (await borrower.transcript())["messages"][-1]["text"]
    view = (await client.get(url(borrower.id), headers=staff["collector-a"])).json()
    assert view["escalations"][0]["outcome_label"] == "已立争议案件"


async def test_close_accepts_only_the_closed_outcome_list(client, staff, escalate):
    borrower = await escalate("E1")
    await _claim(client, staff["collector-a"], borrower.id)
    response = await client.post(url(borrower.id, "close"), json={"outcome": "paid_in_full_lol"},
                                 headers=staff["collector-a"])
    assert response.status_code == 422


# --- notes ---------------------------------------------------------------------------------


async def test_notes_are_kept_for_staff_and_never_reach_the_borrower(client, session, app, staff, escalate):
    borrower = await escalate("E3")
    secret = "借款人情绪低落，已提供心理援助热线，明天上午再跟进"

    async with app.state.events.subscribe(f"conversation:{borrower.id}") as borrower_side:
        response = await client.post(url(borrower.id, "notes"), json={"text": secret}, headers=staff["collector-a"])
        assert response.status_code == 201, response.text
        assert await borrower_side.next(timeout=0.2) is None  # not even a hint on the borrower's topic

    notes = (await client.get(url(borrower.id, "notes"), headers=staff["collector-b"])).json()["notes"]
    assert [(n["text"], n["author_name"]) for n in notes] == [(secret, "王催收")]
    assert secret not in str(await borrower.transcript())
    stream = await client.get(f"/api/v1/chat/sessions/{borrower.id}/stream", params={"wait": 0},
                              headers=borrower.auth)
    assert stream.status_code == 200 and "转人工" in stream.text  # the borrower's stream works…
    assert secret not in stream.text  # …and carries no note
    session.expire_all()
    stored = (await session.scalars(select(Message.text).where(Message.conversation_id == borrower.id))).all()
    assert not any(secret in text for text in stored)
    assert (await session.scalar(select(ConsoleNote.text))) == secret
    [event] = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "console.note_added"))).all()
    assert secret not in str(event.payload) and len(event.payload["sha256"]) == 64


# --- the whole flow is audited ---------------------------------------------------------------


async def test_every_collector_act_is_an_audit_event(client, session, staff, escalate):
    borrower = await escalate("E2")
    a = staff["collector-a"]
    await _claim(client, a, borrower.id)
    await client.post(url(borrower.id, "messages"), json={"text": "您好，我来帮您处理。"}, headers=a)
    await client.post(url(borrower.id, "messages"), json={"text": "你这种老赖就是欠收拾。"}, headers=a)
    await client.post(url(borrower.id, "notes"), json={"text": "已致电确认"}, headers=a)
    await client.post(url(borrower.id, "hand-back"), headers=a)

    actions = [x for x in await _actions(session, borrower.id) if x != "transcript.viewed"]

    assert actions == [
        "conversation.state_changed", "escalation.claimed",  # claim
        "console.message_sent", "console.message_blocked", "console.note_added",
        "conversation.state_changed", "escalation.resolved", "bot.tracker_controlled",  # hand back
    ]
    assert (await verify(session)).ok
