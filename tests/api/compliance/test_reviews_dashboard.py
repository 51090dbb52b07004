"""Reviews (audited verdicts) and the dashboard data (A3)."""

from datetime import datetime, timezone

from sqlalchemy import select

from api.audit.models import AuditAction, AuditEvent
from api.audit.service import append
from api.gateway.models import Escalation, ReasonCode
from tests.api.compliance.helpers import T0, agreement_in_chat, make_conversation, staff_headers


async def test_review_is_stored_and_audited(client, session):
    headers = await staff_headers(client, session)
    conversation = await make_conversation(session, [("borrower", "你好")])
    response = await client.post(f"/api/v1/compliance/conversations/{conversation.id}/reviews",
                                 json={"verdict": "minor_issue", "comment": "开场白过长"}, headers=headers)
    assert response.status_code == 201
    assert response.json()["verdict"] == "minor_issue"
    [event] = (await session.scalars(select(AuditEvent).where(
        AuditEvent.action == AuditAction.REVIEW_RECORDED))).all()
    assert event.payload["comment"] == "开场白过长" and event.subject == f"conversation:{conversation.id}"
    body = (await client.get(f"/api/v1/compliance/conversations/{conversation.id}", headers=headers)).json()
    assert [(r["verdict"], r["comment"]) for r in body["reviews"]] == [("minor_issue", "开场白过长")]


async def test_verdict_outside_the_closed_list_is_refused(client, session):
    headers = await staff_headers(client, session)
    conversation = await make_conversation(session, [])
    response = await client.post(f"/api/v1/compliance/conversations/{conversation.id}/reviews",
                                 json={"verdict": "fine"}, headers=headers)
    assert response.status_code == 422


async def test_dashboard_counts(client, session, seeded, service_headers):
    headers = await staff_headers(client, session)
    await agreement_in_chat(client, session, service_headers)
    flagged = await make_conversation(session, [("borrower", "你好"), ("bot", "您已逾期 12 天")])
    session.add(Escalation(conversation_id=flagged.id, reason_code=ReasonCode.DISTRESS, urgency=1,
                           created_at=datetime.now(timezone.utc)))
    await append(session, actor="user:1", action=AuditAction.CONSOLE_MESSAGE_BLOCKED,
                 subject=f"conversation:{flagged.id}",
                 payload={"violations": [{"rule_id": "L1", "category": "threat_violence", "span": [0, 2]}]})
    await session.commit()
    response = await client.get("/api/v1/compliance/dashboard",
                                params={"date_from": "2026-01-01"}, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["agreements_by_kind"] == [{"key": "instalment", "count": 1}]
    assert body["escalations_by_reason"] == [{"key": "E3", "count": 1}]
    assert body["flags_per_week"] == [{"week": "2026-03-02", "key": "P4", "count": 1}]
    assert [b["key"] for b in body["guard_blocks_per_week"]] == ["L1"]
    assert T0.date().isoformat() == "2026-03-02"
