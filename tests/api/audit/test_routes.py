"""GET /api/v1/audit/verify: compliance and admin only."""

import pytest
from sqlalchemy import update

from api.audit.models import AuditEvent
from api.users.models import Role
from tests.api.audit.helpers import append_events, tamper
from tests.api.users.builders import make_user, user_headers
from tests.conftest import open_chat

VERIFY = "/api/v1/audit/verify"


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.COLLECTOR, 403), (Role.COMPLIANCE, 200), (Role.ADMIN, 200)],
)
async def test_verify_is_for_compliance_and_admin(client, session, role, status):
    await make_user(session, username="reviewer", role=role)
    headers = await user_headers(client, username="reviewer")

    response = await client.get(VERIFY, headers=headers)

    assert response.status_code == status
    if status == 403:
        assert response.json()["error"] == "PermissionDenied"


async def test_verify_refuses_requests_without_a_user_token(client, service_headers):
    chat = await open_chat(client)
    for headers in ({}, {"Authorization": f"Bearer {chat['session_token']}"}, service_headers):
        response = await client.get(VERIFY, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"] == "NotAuthenticated"


async def test_chain_verifies_after_logins(client, session):
    await make_user(session, username="auditor", role=Role.COMPLIANCE)
    await client.post("/api/v1/auth/token", data={"username": "auditor", "password": "nope"})
    headers = await user_headers(client, username="auditor")

    response = await client.get(VERIFY, headers=headers)

    assert response.status_code == 200
    body = response.json()
    # user.created, auth.login_failed, auth.login
    assert body["ok"] is True and body["checked"] == 3 and body["head_seq"] == 3
    assert body["broken_seq"] is None and body["reason"] is None


async def test_verify_reports_the_first_broken_link(client, session):
    await make_user(session, username="auditor", role=Role.ADMIN)  # seq 1
    await append_events(session, 3)  # seq 2..4
    await tamper(session, update(AuditEvent).where(AuditEvent.seq == 3).values(actor="user:0"))
    headers = await user_headers(client, username="auditor")

    body = (await client.get(VERIFY, headers=headers)).json()

    assert body["ok"] is False
    assert (body["broken_seq"], body["reason"], body["checked"]) == (3, "hash_mismatch", 2)
    assert "第 3 条" in body["detail"]
