"""Who may call what: one table for every route of the app.

Each route is called as each kind of caller, and the answer must be the one the table
declares: 401 (no usable credential of the right kind), 403 (a staff role without the
permission, or a WeChat request without WeChat's signature) or "allowed" (anything but
401/403: the caller got past authorization). A route missing from the table fails
`test_every_route_is_in_the_table`, so no route is added unprotected by accident.
"""

import uuid
from collections.abc import Iterator

from fastapi.routing import iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.config import Settings
from api.main import create_app
from api.users.models import Role
from api.users.security import issue_access_token
from api.users.service import create_user
from tests.api.users.builders import DEFAULT_PASSWORD, fast_password_hashing  # noqa: F401
from tests.conftest import open_chat

NO_TOKEN, BORROWER, SERVICE = "no token", "borrower session", "service token"
COLLECTOR, COMPLIANCE, ADMIN = Role.COLLECTOR.value, Role.COMPLIANCE.value, Role.ADMIN.value
CALLERS = (NO_TOKEN, BORROWER, SERVICE, COLLECTOR, COMPLIANCE, ADMIN)
OK = "allowed"

# Access policies: the expected answer for each caller.
POLICIES: dict[str, dict[str, int | str]] = {
    "public": dict.fromkeys(CALLERS, OK),
    "borrower session": {
        NO_TOKEN: 401, BORROWER: OK, SERVICE: 401, COLLECTOR: 401, COMPLIANCE: 401, ADMIN: 401,
    },
    # WeChat's servers sign each request (query signature); none of our tokens counts.
    "wechat signature": dict.fromkeys(CALLERS, 403),
    "service": {
        NO_TOKEN: 401, BORROWER: 401, SERVICE: OK, COLLECTOR: 401, COMPLIANCE: 401, ADMIN: 401,
    },
    "any staff": {
        NO_TOKEN: 401, BORROWER: 401, SERVICE: 401, COLLECTOR: OK, COMPLIANCE: OK, ADMIN: OK,
    },
    "borrower session, compliance, admin": {
        NO_TOKEN: 401, BORROWER: OK, SERVICE: 401, COLLECTOR: 403, COMPLIANCE: OK, ADMIN: OK,
    },
    "compliance, admin": {
        NO_TOKEN: 401, BORROWER: 401, SERVICE: 401, COLLECTOR: 403, COMPLIANCE: OK, ADMIN: OK,
    },
    "admin": {
        NO_TOKEN: 401, BORROWER: 401, SERVICE: 401, COLLECTOR: 403, COMPLIANCE: 403, ADMIN: OK,
    },
    # The collector console: compliance reviews elsewhere and never writes to borrowers.
    "collector, admin": {
        NO_TOKEN: 401, BORROWER: 401, SERVICE: 401, COLLECTOR: OK, COMPLIANCE: 403, ADMIN: OK,
    },
}

# THE table: every route of the app, and who may call it.
ACCESS: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/chat/sessions/{conversation_id}/messages"): "borrower session",
    ("GET", "/api/v1/chat/sessions/{conversation_id}/stream"): "borrower session",
    ("GET", "/api/v1/conversations/{conversation_id}/transcript"): (
        "borrower session, compliance, admin"
    ),
    ("GET", "/wechat"): "wechat signature",
    ("POST", "/wechat"): "wechat signature",
    ("POST", "/internal/v1/conversations/{conversation_id}/identity-verification"): "service",
    ("GET", "/internal/v1/conversations/{conversation_id}/amount-due"): "service",
    ("POST", "/internal/v1/conversations/{conversation_id}/third-party"): "service",
    ("POST", "/internal/v1/conversations/{conversation_id}/data-requests"): "service",
    ("GET", "/internal/v1/conversations/{conversation_id}/contact-preferences"): "service",
    ("PATCH", "/internal/v1/conversations/{conversation_id}/contact-preferences"): "service",
    ("POST", "/internal/v1/conversations/{conversation_id}/quotes"): "service",
    ("POST", "/internal/v1/conversations/{conversation_id}/counter-offers"): "service",
    ("GET", "/internal/v1/conversations/{conversation_id}/quotes/{quote_id}/summary"): "service",
    ("POST", "/internal/v1/conversations/{conversation_id}/quotes/{quote_id}/accept"): "service",
    ("POST", "/api/v1/auth/token"): "public",
    # Open only in development without METRICS_TOKEN (these settings); with the token it
    # needs that bearer token, and production without one refuses everyone
    # (tests/api/core/test_metrics.py).
    ("GET", "/metrics"): "public",
    ("GET", "/api/v1/auth/me"): "any staff",
    ("GET", "/api/v1/audit/verify"): "compliance, admin",
    ("GET", "/api/v1/agreements"): "compliance, admin",
    ("GET", "/api/v1/borrowers/{borrower_id}/contact-preferences"): "compliance, admin",
    ("POST", "/api/v1/loans/{loan_id}/payments"): "admin",
    ("POST", "/api/v1/admin/borrowers"): "admin",
    ("GET", "/api/v1/compliance/conversations"): "compliance, admin",
    ("GET", "/api/v1/compliance/conversations/{conversation_id}"): "compliance, admin",
    ("POST", "/api/v1/compliance/conversations/{conversation_id}/reveal"): "compliance, admin",
    ("POST", "/api/v1/compliance/conversations/{conversation_id}/reviews"): "compliance, admin",
    ("POST", "/api/v1/compliance/flags/refresh"): "compliance, admin",
    ("GET", "/api/v1/compliance/dashboard"): "compliance, admin",
    ("GET", "/api/v1/compliance/agreements/{agreement_id}/evidence"): "compliance, admin",
    ("GET", "/api/v1/compliance/agreements/{agreement_id}/evidence.html"): "compliance, admin",
    ("GET", "/api/v1/compliance/data-requests"): "compliance, admin",
    ("POST", "/api/v1/compliance/data-requests"): "compliance, admin",
    ("POST", "/api/v1/compliance/data-requests/{request_id}/resolve"): "compliance, admin",
    ("GET", "/api/v1/compliance/outreach"): "compliance, admin",
    ("GET", "/api/v1/console/queue"): "collector, admin",
    ("GET", "/api/v1/console/stream"): "collector, admin",
    ("GET", "/api/v1/console/conversations/{conversation_id}"): "collector, admin",
    ("POST", "/api/v1/console/conversations/{conversation_id}/claim"): "collector, admin",
    ("POST", "/api/v1/console/conversations/{conversation_id}/messages"): "collector, admin",
    ("POST", "/api/v1/console/conversations/{conversation_id}/hand-back"): "collector, admin",
    ("POST", "/api/v1/console/conversations/{conversation_id}/close"): "collector, admin",
    ("GET", "/api/v1/console/conversations/{conversation_id}/notes"): "collector, admin",
    ("POST", "/api/v1/console/conversations/{conversation_id}/notes"): "collector, admin",
    ("GET", "/api/v1/outreach/borrowers/{borrower_id}/messages"): "compliance, admin",
    ("PUT", "/api/v1/outreach/loans/{loan_id}/pause"): "admin",
}

# Not access-controlled on purpose: API docs, liveness, the chat page and opening a chat.
UNCONTROLLED = {
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/health"),
    ("GET", "/chat"),
    ("GET", "/compliance"),
    ("GET", "/console"),  # the page only; everything it shows comes from the routes above
    ("GET", "/console/{asset}"),  # its script and style
    ("POST", "/api/v1/chat/sessions"),
}

# Requests that must be well-formed for authorization to be decided at all: the chat
# route checks the session token in its service, after the body is validated.
REQUESTS: dict[tuple[str, str], dict] = {
    ("POST", "/api/v1/chat/sessions/{conversation_id}/messages"): {"json": {"text": "你好"}},
    # `wait=0`: what is there, then the stream ends (a live stream would never return here).
    ("GET", "/api/v1/chat/sessions/{conversation_id}/stream"): {"params": {"wait": 0}},
    ("POST", "/api/v1/auth/token"): {"data": {"username": ADMIN, "password": DEFAULT_PASSWORD}},
    ("GET", "/wechat"): {
        "params": {"signature": "0" * 40, "timestamp": "1", "nonce": "n", "echostr": "e"}
    },
    ("POST", "/wechat"): {
        "params": {"signature": "0" * 40, "timestamp": "1", "nonce": "n"}, "content": b"<xml/>"
    },
    ("GET", "/api/v1/agreements"): {"params": {"borrower_id": 1}},
    ("POST", "/internal/v1/conversations/{conversation_id}/data-requests"): {"json": {"kind": "copy"}},
    ("POST", "/api/v1/compliance/conversations/{conversation_id}/reveal"): {"json": {"reason": "核实"}},
    ("POST", "/api/v1/compliance/data-requests"): {"json": {"borrower_id": 1, "kind": "copy"}},
    ("POST", "/api/v1/compliance/conversations/{conversation_id}/reviews"): {
        "json": {"verdict": "compliant", "comment": ""}
    },
    # `once`: the snapshot, then the stream ends (a live stream would never return here).
    ("GET", "/api/v1/console/stream"): {"params": {"once": "true"}},
    ("POST", "/api/v1/console/conversations/{conversation_id}/messages"): {"json": {"text": "您好"}},
    ("POST", "/api/v1/console/conversations/{conversation_id}/close"): {"json": {"outcome": "resolved"}},
    ("POST", "/api/v1/console/conversations/{conversation_id}/notes"): {"json": {"text": "备注"}},
    ("PUT", "/api/v1/outreach/loans/{loan_id}/pause"): {"json": {"paused": False, "reason": "测试"}},
}


def app_routes() -> Iterator[tuple[str, str]]:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    for route in iter_route_contexts(app.routes):
        methods = route.methods
        if methods is None:  # a mount or websocket: must be declared too
            yield ("MOUNT", route.path or repr(route))
            continue
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            yield (method, route.path)


def test_every_route_is_in_the_table():
    routes = set(app_routes())
    assert routes - ACCESS.keys() - UNCONTROLLED == set(), "undeclared route(s): add to ACCESS"
    assert ACCESS.keys() - routes == set(), "ACCESS names route(s) the app does not have"
    assert UNCONTROLLED - routes == set()
    assert set(ACCESS.values()) <= POLICIES.keys()


async def _staff_headers(session: AsyncSession, settings: Settings) -> dict[str, dict]:
    headers = {}
    for role in (Role.COLLECTOR, Role.COMPLIANCE, Role.ADMIN):
        user = await create_user(
            session, username=role.value, display_name="测试", role=role,
            password=DEFAULT_PASSWORD, actor="system",
        )
        token = issue_access_token(
            user_id=user.id, secret=settings.auth_secret.get_secret_value(), minutes=5
        )
        headers[role.value] = {"Authorization": f"Bearer {token.access_token}"}
    await session.commit()
    return headers


def _url(path: str, conversation_id: str) -> str:
    return path.format(
        conversation_id=conversation_id, quote_id=str(uuid.uuid4()), loan_id=1, borrower_id=1,
        agreement_id=1, request_id=1,
    )


async def test_each_caller_gets_the_declared_answer(
    client, session, seeded, settings, service_headers
):
    chat = await open_chat(client)

    async def verify_borrower() -> None:
        # Internal routes then get past P4 too. Repeated before each route: a route
        # may revoke it (a third party reported on the conversation, P1/P2).
        verified = await client.post(
            f"/internal/v1/conversations/{chat['conversation_id']}/identity-verification",
            json={"full_name": "张伟", "id_last4": "1234", "birth_date": "1990-03-07"},
            headers=service_headers,
        )
        assert verified.json()["verified"] is True

    headers = {
        NO_TOKEN: {},
        BORROWER: {"Authorization": f"Bearer {chat['session_token']}"},
        SERVICE: service_headers,
        **await _staff_headers(session, settings),
    }

    mismatches = []
    for (method, path), policy in ACCESS.items():
        request = REQUESTS.get((method, path), {"json": {}} if method != "GET" else {})
        for caller in CALLERS:
            await verify_borrower()
            response = await client.request(
                method, _url(path, chat["conversation_id"]), headers=headers[caller], **request
            )
            expected = POLICIES[policy][caller]
            got_through = response.status_code not in (401, 403)
            if (expected == OK) != got_through or (
                expected != OK and response.status_code != expected
            ):
                mismatches.append(
                    f"{method} {path} as {caller}: expected {expected}, "
                    f"got {response.status_code} {response.text[:120]}"
                )
    assert mismatches == []
