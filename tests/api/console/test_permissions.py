"""Who may use the console (the full route × caller table is tests/api/test_authorization.py;
these are the console's own promises, spelled out)."""

import pytest

from tests.api.console.conftest import CONSOLE, url

COMPLIANCE_ONLY = (
    "/api/v1/conversations/{id}/transcript",  # unmasked-by-role transcript reading
    "/api/v1/audit/verify",
    "/api/v1/agreements?borrower_id=1",
    "/api/v1/borrowers/1/contact-preferences",
)


def _console_requests(conversation_id: str) -> list[tuple[str, str, dict]]:
    return [
        ("GET", f"{CONSOLE}/queue", {}),
        ("GET", f"{CONSOLE}/stream?once=true", {}),
        ("GET", url(conversation_id), {}),
        ("POST", url(conversation_id, "claim"), {}),
        ("POST", url(conversation_id, "messages"), {"json": {"text": "您好"}}),
        ("POST", url(conversation_id, "hand-back"), {}),
        ("POST", url(conversation_id, "close"), {"json": {"outcome": "resolved"}}),
        ("GET", url(conversation_id, "notes"), {}),
        ("POST", url(conversation_id, "notes"), {"json": {"text": "备注"}}),
    ]


@pytest.mark.parametrize("path", COMPLIANCE_ONLY)
async def test_a_collector_cannot_open_compliance_only_views(client, staff, escalate, path):
    borrower = await escalate("E2")
    response = await client.get(path.format(id=borrower.id), headers=staff["collector-a"])
    assert response.status_code == 403
    assert response.json()["error"] == "PermissionDenied"


async def test_a_borrower_session_token_never_opens_the_console(client, escalate):
    borrower = await escalate("E2")
    for method, path, kwargs in _console_requests(borrower.id):
        response = await client.request(method, path, headers=borrower.auth, **kwargs)
        assert response.status_code == 401, (method, path, response.text)


async def test_without_a_token_every_console_route_is_401(client, escalate):
    borrower = await escalate("E2")
    for method, path, kwargs in _console_requests(borrower.id):
        response = await client.request(method, path, **kwargs)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"] == "NotAuthenticated"


async def test_compliance_staff_do_not_work_the_console(client, staff, escalate):
    borrower = await escalate("E2")
    for method, path, kwargs in _console_requests(borrower.id):
        response = await client.request(method, path, headers=staff["compliance"], **kwargs)
        assert response.status_code == 403, (method, path)


async def test_the_page_and_its_assets_carry_no_data_and_escape_by_construction(client):
    page = await client.get("/console")
    script = await client.get("/console/console.js")
    assert page.status_code == 200 and "人工坐席工作台" in page.text
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in script.text and "insertAdjacentHTML" not in script.text
    assert "sessionStorage" in script.text and "localStorage" not in script.text
    assert (await client.get("/console/../api/main.py")).status_code in (404, 422)
    assert (await client.get("/console/secrets.txt")).status_code == 422
