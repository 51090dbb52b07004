"""Retention (A1): anonymise after N years without activity, keep aggregates and the chain."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from api.audit.models import AuditAction, AuditEvent
from api.audit.service import verify
from api.compliance.models import ComplianceFlag
from api.compliance.retention import PLACEHOLDER, cutoff_for, run_retention
from api.compliance.search import SearchFilters, search
from api.gateway.models import Conversation, Escalation, Message, ReasonCode
from tests.api.compliance.helpers import T0, make_conversation

NOW = datetime(2029, 3, 3, tzinfo=timezone.utc)  # a frozen clock: 3 years and a day after T0


async def test_old_conversations_are_anonymised_recent_ones_kept(session):
    old = await make_conversation(session, [("borrower", "我的电话13812345678"), ("bot", "您已逾期 12 天")],
                                  borrower_id=None)
    recent = await make_conversation(session, [("borrower", "我想分期还款")], started=T0 + timedelta(days=400))
    session.add(Escalation(conversation_id=old.id, reason_code=ReasonCode.DISPUTE, urgency=2, created_at=T0))
    await session.commit()

    report = await run_retention(session, now=NOW, years=3)
    await session.commit()

    assert report.anonymised == [old.id] and report.messages == 3
    texts = (await session.scalars(select(Message.text).where(Message.conversation_id == old.id))).all()
    assert set(texts) == {PLACEHOLDER}
    assert (await session.scalars(select(Message.text).where(Message.conversation_id == recent.id))).all()[-1] == "我想分期还款"
    # Aggregates stay: the escalation and the flag computed from the original text.
    assert await session.scalar(select(func.count()).select_from(Escalation)) == 1
    assert (await session.scalars(select(ComplianceFlag.rule_id).where(ComplianceFlag.conversation_id == old.id))).all() == ["P4"]
    # The old text is gone from the search index too.
    page = await search(session, filters=SearchFilters(q="13812345678"))
    assert page.total == 0
    # The chain still verifies and records the act.
    assert (await verify(session)).ok
    [event] = (await session.scalars(select(AuditEvent).where(
        AuditEvent.action == AuditAction.CONVERSATION_ANONYMISED))).all()
    assert event.subject == f"conversation:{old.id}"
    # Running again changes nothing.
    assert (await run_retention(session, now=NOW, years=3)).anonymised == []


async def test_the_period_is_configurable(session):
    conversation = await make_conversation(session, [("borrower", "你好")])
    assert (await run_retention(session, now=NOW, years=5)).anonymised == []
    assert (await run_retention(session, now=NOW, years=1)).anonymised == [conversation.id]
    assert (await session.get(Conversation, conversation.id)).borrower_id is None


def test_cutoff_on_29_february():
    assert cutoff_for(datetime(2028, 2, 29, tzinfo=timezone.utc), 3) == datetime(2025, 2, 28, tzinfo=timezone.utc)
