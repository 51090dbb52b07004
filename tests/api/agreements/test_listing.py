"""Staff read agreements (admin and compliance only), newest first, paginated."""

import pytest

from api.users.models import Role
from tests.api.agreements.helpers import accept, loan_of, quote_of_kind, verified_chat
from tests.api.users.builders import make_user, user_headers

URL = "/api/v1/agreements"


@pytest.fixture
async def agreements(client, session, seeded, service_headers) -> list[dict]:
    """Two agreements for 张伟 (the second supersedes the first)."""
    made = []
    conversation_id = await verified_chat(client, service_headers)
    for kind in ("instalment", "extension"):
        quote = await quote_of_kind(client, service_headers, conversation_id, kind)
        response = await accept(client, service_headers, conversation_id, quote["quote_id"])
        assert response.status_code == 201
        made.append(response.json())
    return made


async def staff(client, session, role: Role) -> dict[str, str]:
    user = await make_user(session, role=role)
    return await user_headers(client, username=user.username)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COMPLIANCE])
async def test_admin_and_compliance_list_a_borrowers_agreements_newest_first(
    client, session, agreements, role
):
    headers = await staff(client, session, role)
    borrower_id = (await loan_of(session, "张伟")).borrower_id
    response = await client.get(URL, params={"borrower_id": borrower_id}, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert [a["agreement_id"] for a in body["items"]] == [
        agreements[1]["agreement_id"], agreements[0]["agreement_id"]
    ]
    assert [a["status"] for a in body["items"]] == ["active", "superseded"]
    assert body["items"][0]["summary_text"] == agreements[1]["summary_text"]


async def test_pages_do_not_overlap(client, session, agreements):
    headers = await staff(client, session, Role.ADMIN)
    borrower_id = (await loan_of(session, "张伟")).borrower_id
    pages = [
        (await client.get(
            URL, params={"borrower_id": borrower_id, "page": n, "page_size": 1}, headers=headers
        )).json()
        for n in (1, 2, 3)
    ]
    assert [len(p["items"]) for p in pages] == [1, 1, 0]
    assert pages[0]["items"][0]["agreement_id"] != pages[1]["items"][0]["agreement_id"]


async def test_collector_is_forbidden(client, session, agreements):
    headers = await staff(client, session, Role.COLLECTOR)
    response = await client.get(URL, params={"borrower_id": 1}, headers=headers)
    assert response.status_code == 403


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer test-service-token"}, {"Authorization": "Bearer x"}]
)
async def test_without_a_staff_token_it_is_401(client, seeded, headers):
    response = await client.get(URL, params={"borrower_id": 1}, headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "params",
    [{}, {"borrower_id": 0}, {"borrower_id": 2**31}, {"borrower_id": "x"},
     {"borrower_id": 1, "page": 0}, {"borrower_id": 1, "page_size": 101}],
)
async def test_bad_listing_queries_are_422(client, session, seeded, params):
    headers = await staff(client, session, Role.ADMIN)
    response = await client.get(URL, params=params, headers=headers)
    assert response.status_code == 422


async def test_unknown_borrower_has_an_empty_list(client, session, seeded):
    headers = await staff(client, session, Role.COMPLIANCE)
    response = await client.get(URL, params={"borrower_id": 999_999}, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 0, "page": 1, "page_size": 20}
