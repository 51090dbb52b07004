"""Property-based API testing: Schemathesis over the app's own OpenAPI schema, in-process.

Every operation gets a bounded number of generated requests, schema-valid and
schema-invalid, authenticated as the route expects (admin for staff routes, the service
token for internal ones, the borrower's session on chat routes) and aimed at real
records (a verified conversation, a seeded loan and borrower) so the requests reach the
services. The assertion: no 5xx and no response that breaks its documented schema.
"""

import asyncio
import re
from datetime import date

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.core.config import Settings
from api.loans.models import Borrower, Loan
from api.main import create_app
from api.seed import seed_demo
from api.users.models import Role
from api.users.security import issue_access_token
from api.users.service import create_user
from tests.api.users.builders import fast_password_hashing  # noqa: F401  (autouse)
from tests.conftest import TEST_SALT, open_chat

# Live streams would never end under ASGITransport (it buffers the whole response): each
# generated request gets the query value that makes the stream send its backlog and end.
FINITE_STREAMS = {"/api/v1/chat/sessions/{conversation_id}/stream": {"wait": 0}}
# Rasa is down in this test (see tests/conftest.py settings): once fuzzing has escalated
# and claimed the conversation, handing it back answers the documented 503
# (TrackerControlFailed: the collector keeps it), which is the right answer, not a bug.
RASA_DOWN_ANSWERS = {"/api/v1/console/conversations/{conversation_id}/hand-back": "TrackerControlFailed"}
EXAMPLES_PER_MODE = 10  # per operation, once schema-valid and once schema-invalid
CHECKS = [not_a_server_error, response_schema_conformance]
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


async def _prepare(settings: Settings) -> dict:
    """Demo data, an admin, and a chat whose borrower has verified (via the real routes)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker.begin() as session:
            await seed_demo(session, id_hash_salt=TEST_SALT, today=date(2026, 6, 1))
            admin = await create_user(
                session, username="admin", display_name="管理员", role=Role.ADMIN,
                password="schemathesis-admin", actor="system",
            )
            loan = await session.get(Loan, 1)
            borrower = await session.get(Borrower, loan.borrower_id)
            ids = {"loan_id": loan.id, "borrower_id": borrower.id}
        service = {"Authorization": f"Bearer {settings.service_token.get_secret_value()}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            chat = await open_chat(client)
            verified = await client.post(
                f"/internal/v1/conversations/{chat['conversation_id']}/identity-verification",
                json={"full_name": "张伟", "id_last4": "1234", "birth_date": "1990-03-07"},
                headers=service,
            )
            assert verified.json()["verified"] is True
    token = issue_access_token(
        user_id=admin.id, secret=settings.auth_secret.get_secret_value(), minutes=30
    ).access_token
    return {
        "path": {**ids, "conversation_id": chat["conversation_id"]},
        "staff": {"Authorization": f"Bearer {token}"},
        "service": service,
        "borrower": {"Authorization": f"Bearer {chat['session_token']}"},
    }


def _auth_for(path: str, prepared: dict) -> dict[str, str]:
    if path.startswith("/internal/"):
        return prepared["service"]
    if path.startswith("/api/v1/chat/"):
        return prepared["borrower"]
    return prepared["staff"]


def _fuzz(operation, mode, prepared: dict) -> None:
    # Schema-valid requests go to real records; schema-invalid ones get invalid ids too.
    names = set(re.findall(r"{(\w+)}", operation.path))
    fixed_path = {k: v for k, v in prepared["path"].items() if k in names}
    if mode == schemathesis.GenerationMode.NEGATIVE:
        fixed_path = {}
    auth = _auth_for(operation.path, prepared)
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed_path or None)

    @hypothesis_settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        if operation.path in FINITE_STREAMS:
            case.query = {**(case.query or {}), **FINITE_STREAMS[operation.path]}
        response = case.call(headers=auth)
        if response.status_code == 503 and operation.path in RASA_DOWN_ANSWERS:
            assert response.json()["error"] == RASA_DOWN_ANSWERS[operation.path]
            return
        case.validate_response(response, checks=CHECKS)

    run()


def test_no_server_errors_and_responses_match_the_schema(settings):
    prepared = asyncio.run(_prepare(settings))
    app = create_app(settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = []
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in MODES:
                try:
                    _fuzz(operation, mode, prepared)
                except Unsatisfiable:
                    pass  # nothing to make invalid (e.g. no parameters at all)
                except (Exception, BaseExceptionGroup) as exc:  # collect every failing operation
                    failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    finally:
        shutdown_lifespans()
    assert not failures, "\n\n".join(failures)
