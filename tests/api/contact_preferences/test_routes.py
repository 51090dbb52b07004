"""Contact-preference routes: the action server after verification (P4), staff read only."""

import pytest

from api.users.models import Role
from tests.api.users.builders import make_user, user_headers
from tests.conftest import open_chat

ZHANG = {"full_name": "张伟", "id_last4": "1234", "birth_date": "1990-03-07"}


def prefs_url(conversation_id: str) -> str:
    return f"/internal/v1/conversations/{conversation_id}/contact-preferences"


@pytest.fixture
async def chat(client, seeded) -> dict:
    return await open_chat(client)


@pytest.fixture
async def verified(client, chat, service_headers) -> dict:
    response = await client.post(
        f"/internal/v1/conversations/{chat['conversation_id']}/identity-verification",
        json=ZHANG,
        headers=service_headers,
    )
    assert response.json()["verified"] is True
    return chat


async def test_nothing_is_shown_or_changed_before_verification(client, chat, service_headers):
    url = prefs_url(chat["conversation_id"])
    for response in (
        await client.get(url, headers=service_headers),
        await client.patch(url, json={"stop_all": True}, headers=service_headers),
    ):
        assert response.status_code == 403
        assert response.json()["error"] == "IdentityNotVerified"


async def test_unknown_conversation_is_404(client, service_headers):
    response = await client.get(
        prefs_url("00000000-0000-4000-8000-000000000000"), headers=service_headers
    )
    assert response.status_code == 404


async def test_verified_conversation_reads_defaults(client, verified, service_headers):
    response = await client.get(prefs_url(verified["conversation_id"]), headers=service_headers)

    assert response.status_code == 200
    assert response.json() == {
        "no_workplace_contact": False,
        "no_family_contact": False,
        "quiet_start": None,
        "quiet_end": None,
        "opted_out_channels": [],
        "stop_all": False,
        "updated_at": None,
    }


async def test_borrower_asks_to_stop_workplace_contact_and_sms(client, verified, service_headers):
    url = prefs_url(verified["conversation_id"])

    response = await client.patch(
        url,
        json={
            "no_workplace_contact": True,
            "opt_out_channels": ["sms"],
            "quiet_start": "22:00",
            "quiet_end": "08:00",
        },
        headers=service_headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["no_workplace_contact"] is True and body["opted_out_channels"] == ["sms"]
    assert (body["quiet_start"], body["quiet_end"]) == ("22:00:00", "08:00:00")
    assert (await client.get(url, headers=service_headers)).json() == body


@pytest.mark.parametrize(
    "bad",
    [
        {"quiet_start": "22:00"},
        {"quiet_start": "22:00", "quiet_end": None},
        {"quiet_start": "09:00", "quiet_end": "09:00"},
        {"quiet_start": "22:00+08:00", "quiet_end": "08:00+08:00"},
        {"opt_out_channels": ["phone"]},
        {"opt_out_channels": ["sms"], "opt_in_channels": ["sms"]},
        {"stop_all": "yes please"},
        {"unknown_field": True},
    ],
)
async def test_invalid_changes_are_422(client, verified, service_headers, bad):
    response = await client.patch(
        prefs_url(verified["conversation_id"]), json=bad, headers=service_headers
    )
    assert response.status_code == 422, bad


async def test_internal_routes_need_the_service_token(client, verified):
    url = prefs_url(verified["conversation_id"])
    for headers in ({}, {"Authorization": f"Bearer {verified['session_token']}"}):
        assert (await client.get(url, headers=headers)).status_code == 401


@pytest.mark.parametrize(
    ("role", "status"), [(Role.ADMIN, 200), (Role.COMPLIANCE, 200), (Role.COLLECTOR, 403)]
)
async def test_staff_read_is_for_admin_and_compliance(client, session, verified, role, status):
    await make_user(session, username="staff", role=role)
    headers = await user_headers(client, username="staff")

    response = await client.get("/api/v1/borrowers/1/contact-preferences", headers=headers)

    assert response.status_code == status


async def test_staff_read_of_unknown_borrower_is_404(client, session):
    await make_user(session, username="staff", role=Role.COMPLIANCE)
    headers = await user_headers(client, username="staff")

    response = await client.get("/api/v1/borrowers/999999/contact-preferences", headers=headers)

    assert response.status_code == 404
    assert response.json()["error"] == "BorrowerNotFound"
