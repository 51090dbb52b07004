"""The compliance transcript: masked by default, reveal is separate, both audited (PD2, A1)."""

from sqlalchemy import select

from api.audit.models import AuditAction, AuditEvent
from api.users.models import Role
from tests.api.compliance.helpers import make_conversation, staff_headers

ID_NUMBER = "110101199003071234"


async def _events(session, action):
    return (await session.scalars(select(AuditEvent).where(AuditEvent.action == action))).all()


def url(cid: str, suffix: str = "") -> str:
    return f"/api/v1/compliance/conversations/{cid}{suffix}"


async def test_view_is_masked_with_local_time_labels_and_is_audited(client, session):
    headers = await staff_headers(client, session)
    conversation = await make_conversation(session, [
        ("borrower", f"身份证{ID_NUMBER}"),
        ("bot", "您已逾期 12 天"),
        ("agent", "我是人工客服"),
    ])
    response = await client.get(url(conversation.id), headers=headers)
    assert response.status_code == 200
    body = response.json()
    lines = body["messages"]
    assert [m["sender"] for m in lines] == ["bot", "borrower", "bot", "agent"]
    assert ID_NUMBER not in lines[1]["text"] and lines[1]["masked"] is True
    assert lines[0]["ai_generated"] and lines[0]["template"] == "opening_disclosure"
    assert not lines[3]["ai_generated"]
    assert lines[0]["at"].endswith("Z") and lines[0]["at_local"].endswith("+08:00")
    assert "AI" in body["ai_label"]
    assert [f["rule_id"] for f in body["flags"]] == ["P4"]
    [viewed] = await _events(session, AuditAction.TRANSCRIPT_VIEWED)
    assert viewed.subject == f"conversation:{conversation.id}" and viewed.payload["masked"] is True


async def test_reveal_shows_numbers_and_is_audited_with_its_reason(client, session):
    headers = await staff_headers(client, session)
    conversation = await make_conversation(session, [("borrower", f"身份证{ID_NUMBER}")])
    response = await client.post(url(conversation.id, "/reveal"), json={"reason": "核实借款人身份争议"},
                                 headers=headers)
    assert response.status_code == 200
    assert ID_NUMBER in response.json()["messages"][1]["text"] and response.json()["revealed"]
    [revealed] = await _events(session, AuditAction.TRANSCRIPT_REVEALED)
    assert revealed.payload["reason"] == "核实借款人身份争议"
    assert revealed.payload["unmasked_message_ids"] == [response.json()["messages"][1]["id"]]
    assert await _events(session, AuditAction.TRANSCRIPT_VIEWED) == []


async def test_reveal_needs_a_reason(client, session):
    headers = await staff_headers(client, session)
    conversation = await make_conversation(session, [])
    assert (await client.post(url(conversation.id, "/reveal"), json={}, headers=headers)).status_code == 422


async def test_state_changes_and_escalations_are_in_the_timeline(client, session):
    from api.gateway.escalation import escalate
    from api.gateway.models import ReasonCode

    headers = await staff_headers(client, session)
    conversation = await make_conversation(session, [("borrower", "我要投诉")])
    await escalate(session, conversation_id=conversation.id, reason=ReasonCode.HUMAN_REQUESTED, note=None,
                   actor="system", source="bot")
    await session.commit()
    body = (await client.get(url(conversation.id), headers=headers)).json()
    actions = [e["action"] for e in body["events"]]
    assert actions[:2] == ["conversation.state_changed", "escalation.opened"]
    assert body["events"][0]["details"] == {"from": "bot", "to": "waiting_for_agent",
                                            "reason_code": "E2", "source": "bot"}
    assert [e["reason_code"] for e in body["escalations"]] == ["E2"]


async def test_collectors_cannot_read_or_reveal(client, session):
    collector = await staff_headers(client, session, Role.COLLECTOR)
    conversation = await make_conversation(session, [])
    assert (await client.get(url(conversation.id), headers=collector)).status_code == 403
    assert (await client.post(url(conversation.id, "/reveal"), json={"reason": "看看"},
                              headers=collector)).status_code == 403


async def test_unknown_conversation_is_404(client, session):
    headers = await staff_headers(client, session)
    response = await client.get(url("00000000-0000-0000-0000-000000000000"), headers=headers)
    assert response.status_code == 404


async def test_bot_model_version_is_shown(client, session):
    headers = await staff_headers(client, session)
    conversation = await make_conversation(session, [("bot:rasa:model-635de7b35b109ec6", "您好")])
    body = (await client.get(url(conversation.id), headers=headers)).json()
    assert body["messages"][1]["model_version"] == "model-635de7b35b109ec6"
    assert body["messages"][1]["ai_generated"] is True
