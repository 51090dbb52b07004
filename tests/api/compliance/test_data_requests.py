"""Borrower data requests (PD3): tracked, fulfilled with an export, audited."""

from sqlalchemy import select

from api.audit.models import AuditAction, AuditEvent
from api.users.models import Role
from tests.api.agreements.helpers import verified_chat
from tests.api.compliance.helpers import staff_headers

URL = "/api/v1/compliance/data-requests"


async def test_request_is_tracked_and_fulfilled_with_the_borrowers_transcripts(
    client, session, seeded, service_headers
):
    headers = await staff_headers(client, session)
    conversation_id = await verified_chat(client, service_headers)
    borrower_id = (await client.get(f"/api/v1/compliance/conversations/{conversation_id}",
                                    headers=headers)).json()["conversation"]["borrower_id"]
    opened = await client.post(URL, json={"borrower_id": borrower_id, "kind": "copy",
                                          "conversation_id": conversation_id, "note": "借款人在聊天中要求复制记录"},
                               headers=headers)
    assert opened.status_code == 201 and opened.json()["status"] == "open"
    assert [r["id"] for r in (await client.get(URL, params={"status": "open"}, headers=headers)).json()] == [
        opened.json()["id"]]

    done = await client.post(f"{URL}/{opened.json()['id']}/resolve", json={}, headers=headers)
    assert done.status_code == 200
    body = done.json()
    assert body["request"]["status"] == "fulfilled"
    [conversation] = body["export"]["conversations"]
    assert conversation["conversation_id"] == conversation_id and conversation["messages"]
    again = await client.post(f"{URL}/{opened.json()['id']}/resolve", json={}, headers=headers)
    assert again.status_code == 409

    actions = (await session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject == f"borrower:{borrower_id}"))).all()
    assert actions[-2:] == [AuditAction.DATA_REQUEST_OPENED, AuditAction.DATA_REQUEST_RESOLVED]


async def test_unknown_borrower_is_404_and_collectors_are_refused(client, session):
    headers = await staff_headers(client, session)
    assert (await client.post(URL, json={"borrower_id": 999, "kind": "access"}, headers=headers)).status_code == 404
    collector = await staff_headers(client, session, Role.COLLECTOR)
    assert (await client.get(URL, headers=collector)).status_code == 403
