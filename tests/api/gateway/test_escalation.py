"""Escalation through the public chat contract: the real app and database, Rasa faked
(tests/api/gateway/fake_rasa.py)."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from api.audit.models import AuditEvent
from api.audit.service import verify
from api.core.config import Settings
from api.core.db import utcnow
from api.gateway.models import Conversation, Escalation, Message, MessageStatus, Sender
from tests.api.gateway.fake_rasa import RASA_TOKEN, fake_rasa, handoff, settings  # noqa: F401
from tests.conftest import open_chat

MONEY_WORDS = ("¥", "元", "欠", "逾期", "还款")
CRISIS = "12356"


class Chat:
    def __init__(self, client, opened: dict) -> None:
        self.client, self.id = client, opened["conversation_id"]
        self.auth = {"Authorization": f"Bearer {opened['session_token']}"}

    async def say(self, text: str) -> dict:
        response = await self.client.post(
            f"/api/v1/chat/sessions/{self.id}/messages", json={"text": text}, headers=self.auth
        )
        assert response.status_code == 200, response.text
        return response.json()


async def chat(client) -> Chat:
    return Chat(client, await open_chat(client))


def asks_for_a_person(reason: str, text: str = "好的，我帮您转接人工客服。"):
    """A bot script: any message mentioning 人工 gets the handoff signal with `reason`."""

    def script(message: str) -> list[dict]:
        if "人工" in message:
            return [handoff(reason, text=text, note="borrower asked")]
        return [{"text": "好的"}]

    return script


async def escalations(session, conversation_id: str) -> list[Escalation]:
    session.expire_all()
    return list((await session.scalars(
        select(Escalation).where(Escalation.conversation_id == conversation_id)
    )).all())


async def transcript(session, conversation_id: str) -> list[Message]:
    session.expire_all()
    return list((await session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    )).all())


async def audit_of(session, conversation_id: str) -> list[AuditEvent]:
    session.expire_all()
    return list((await session.scalars(
        select(AuditEvent).where(AuditEvent.subject == f"conversation:{conversation_id}").order_by(AuditEvent.seq)
    )).all())


async def test_handoff_from_the_bot_escalates_pauses_rasa_and_tells_the_queue_place(client, session, fake_rasa):
    fake_rasa.script = asks_for_a_person("E2")
    borrower = await chat(client)

    body = await borrower.say("我要转人工")

    assert body["state"] == "waiting_for_agent"
    assert [m["sender"] for m in body["messages"]] == ["bot", "system"]
    assert "转接人工客服" in body["messages"][1]["text"] and "您是下一位" in body["messages"][1]["text"]
    assert CRISIS not in " ".join(m["text"] for m in body["messages"])
    [row] = await escalations(session, borrower.id)
    assert (row.reason_code, row.urgency, row.note) == ("E2", 3, "borrower asked")
    assert row.tracker_paused_at is not None
    assert fake_rasa.events == [{"sender": borrower.id, "params": {"token": RASA_TOKEN, "include_events": "NONE"},
                                 "body": [{"event": "pause"}]}]
    stored = await transcript(session, borrower.id)
    assert stored[-2].payload == {"custom": {"handoff": {"reason_code": "E2", "note": "borrower asked"}}}
    assert stored[-1].template == "handoff_queued"
    assert [e.action for e in await audit_of(session, borrower.id)] == [
        "conversation.state_changed", "escalation.opened", "bot.tracker_controlled",
    ]
    assert (await verify(session)).ok


async def test_second_escalated_borrower_is_told_one_is_ahead(client, fake_rasa):
    fake_rasa.script = asks_for_a_person("E2")
    first, second = await chat(client), await chat(client)
    await first.say("转人工")
    body = await second.say("转人工")
    assert "您前面还有 1 位" in body["messages"][-1]["text"]


async def test_distress_from_the_bot_shows_the_crisis_line_first_and_jumps_the_queue(client, session, fake_rasa):
    fake_rasa.script = asks_for_a_person("E2")
    await (await chat(client)).say("转人工")
    fake_rasa.script = asks_for_a_person("E3", text="")
    borrower = await chat(client)

    body = await borrower.say("我病得很重，不想说了，人工")

    system = [m["text"] for m in body["messages"] if m["sender"] == "system"]
    assert [m["sender"] for m in body["messages"]] == ["system", "system"]  # the bare signal is not shown
    assert CRISIS in system[0] and "120 或 110" in system[0]
    assert "您是下一位" in system[1]
    assert not any(word in text for text in system for word in MONEY_WORDS)
    [row] = await escalations(session, borrower.id)
    assert (row.reason_code, row.urgency) == ("E3", 1)


@pytest.mark.parametrize("reason", ["E1", "E2", "E4", "E5", "E6", "negotiation_failed", "third_party"])
async def test_crisis_line_is_shown_only_for_distress(client, fake_rasa, reason):
    fake_rasa.script = asks_for_a_person(reason)
    body = await (await chat(client)).say("人工")
    assert body["state"] == "waiting_for_agent"
    assert CRISIS not in " ".join(m["text"] for m in body["messages"])


async def test_unknown_reason_code_still_escalates(client, session, fake_rasa):
    fake_rasa.script = asks_for_a_person("E9")
    borrower = await chat(client)
    assert (await borrower.say("人工"))["state"] == "waiting_for_agent"
    [row] = await escalations(session, borrower.id)
    assert row.reason_code == "unspecified" and "E9" in row.note


async def test_failed_pause_still_escalates_and_is_recorded(client, session, fake_rasa):
    fake_rasa.script = asks_for_a_person("E1")
    fake_rasa.events_status = 500
    borrower = await chat(client)

    body = await borrower.say("这笔不是我借的，转人工")

    assert body["state"] == "waiting_for_agent"
    [row] = await escalations(session, borrower.id)
    assert row.tracker_paused_at is None
    control = (await audit_of(session, borrower.id))[-1]
    assert control.action == "bot.tracker_controlled"
    assert control.payload["ok"] is False and "500" in control.payload["error"]
    assert RASA_TOKEN not in control.payload["error"]
    turns = len(fake_rasa.turns)
    await borrower.say("还在吗")  # the state alone keeps the bot out
    assert len(fake_rasa.turns) == turns


async def test_messages_while_waiting_never_reach_rasa_and_get_a_reminder_at_most_every_n_minutes(
    client, session, settings, fake_rasa
):
    fake_rasa.script = asks_for_a_person("E2")
    borrower = await chat(client)
    await borrower.say("转人工")
    turns = len(fake_rasa.turns)

    right_after = await borrower.say("有人吗")  # just told the queue place: no flood
    await session.execute(
        update(Message).where(Message.conversation_id == borrower.id, Message.sender == Sender.SYSTEM)
        .values(created_at=utcnow() - timedelta(minutes=settings.handoff_reminder_minutes, seconds=1))
    )
    await session.commit()
    later = await borrower.say("还要等多久")
    again = await borrower.say("快点")

    assert right_after == {"messages": [], "state": "waiting_for_agent"}
    [reminder] = later["messages"]
    assert reminder["sender"] == "system" and "请稍候" in reminder["text"] and "您是下一位" in reminder["text"]
    assert again["messages"] == []
    assert len(fake_rasa.turns) == turns
    inbound = [m for m in await transcript(session, borrower.id) if m.sender == Sender.BORROWER][1:]
    assert {m.status for m in inbound} == {MessageStatus.RECEIVED}


async def test_messages_while_a_collector_has_the_conversation_go_to_the_collector_only(client, session, fake_rasa):
    borrower = await chat(client)
    await session.execute(update(Conversation).where(Conversation.id == borrower.id).values(state="agent"))
    await session.commit()

    body = await borrower.say("你好，我想问一下")

    assert body == {"messages": [], "state": "agent"}
    assert fake_rasa.turns == []
    assert (await transcript(session, borrower.id))[-1].status == MessageStatus.ROUTED


async def test_closed_conversation_says_so(client, session, fake_rasa):
    borrower = await chat(client)
    await session.execute(update(Conversation).where(Conversation.id == borrower.id).values(state="closed"))
    await session.commit()
    body = await borrower.say("你好")
    assert body["state"] == "closed" and "已结束" in body["messages"][0]["text"]
    assert fake_rasa.turns == []


async def test_bot_down_apologises_and_escalates_once(client, session, fake_rasa):
    fake_rasa.down = True
    borrower = await chat(client)

    body = await borrower.say("我想分期")
    await borrower.say("喂？")

    assert body["state"] == "waiting_for_agent"
    [apology] = body["messages"]
    assert apology["sender"] == "system" and "已经保存" in apology["text"] and "您是下一位" in apology["text"]
    assert len(fake_rasa.turns) == 1
    [row] = await escalations(session, borrower.id)
    assert (row.reason_code, row.urgency) == ("bot_failure", 4)
    stored = await transcript(session, borrower.id)
    assert stored[1].status == MessageStatus.ROUTING_FAILED
    assert "Connection refused" in stored[2].payload["error"]


async def test_slow_bot_gets_the_apology_within_the_deadline(client, settings, fake_rasa):
    fake_rasa.delay_seconds = 30
    borrower = await chat(client)
    started = time.monotonic()
    body = await borrower.say("我想分期")
    elapsed = time.monotonic() - started
    assert "已经保存" in body["messages"][0]["text"] and body["state"] == "waiting_for_agent"
    assert elapsed < settings.rasa_timeout_seconds + settings.rasa_control_timeout_seconds + 1


def test_default_deadlines_answer_the_borrower_within_5_seconds():
    defaults = Settings()
    assert defaults.rasa_timeout_seconds + defaults.rasa_control_timeout_seconds <= 4.5


@pytest.mark.parametrize("text", ["我真的不想活了", "活着 没 意思", "想　死", "一了百了吧"])
async def test_tripwire_escalates_urgently_without_asking_rasa(client, session, fake_rasa, text):
    borrower = await chat(client)

    body = await borrower.say(text)

    assert fake_rasa.turns == []
    assert body["state"] == "waiting_for_agent"
    texts = [m["text"] for m in body["messages"]]
    assert [m["sender"] for m in body["messages"]] == ["system"] * 3
    assert "担心您" in texts[0] and CRISIS in texts[1] and "转接人工" in texts[2]
    assert not any(word in t for t in texts for word in MONEY_WORDS)
    [row] = await escalations(session, borrower.id)
    assert (row.reason_code, row.urgency) == ("E3", 1)
    assert fake_rasa.event_names(borrower.id) == ["pause"]
    inbound = (await transcript(session, borrower.id))[1]
    assert inbound.status == MessageStatus.ROUTED and inbound.payload["tripwire"]


async def test_tripwire_while_waiting_makes_the_escalation_urgent_and_shows_the_crisis_line(
    client, session, fake_rasa
):
    fake_rasa.script = asks_for_a_person("negotiation_failed")
    ahead = await chat(client)
    await ahead.say("人工")  # urgency 4, escalated first
    borrower = await chat(client)
    assert "您前面还有 1 位" in (await borrower.say("人工"))["messages"][-1]["text"]

    body = await borrower.say("还不如死了算了")

    texts = [m["text"] for m in body["messages"]]
    assert CRISIS in texts[1] and "您是下一位" in texts[-1]
    [row] = await escalations(session, borrower.id)
    assert (row.reason_code, row.urgency) == ("E3", 1)
    assert "escalation.upgraded" in [e.action for e in await audit_of(session, borrower.id)]
    assert not any(word in t for t in texts for word in MONEY_WORDS)
