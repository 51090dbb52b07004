"""POST /api/v1/admin/borrowers: validated import that never stores or returns the ID
number or the full phone number."""

import asyncio
import copy
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.audit.models import AuditAction, AuditEvent
from api.core.security import id_number_hash
from api.loans.models import Borrower, ScheduleItem
from api.users.models import Role
from tests.api.users.builders import make_user, user_headers
from tests.conftest import TEST_SALT, open_chat

ROOT = Path(__file__).resolve().parents[3]
URL = "/api/v1/admin/borrowers"
ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"
LOAN = {
    "contract_no": "PH-2026-900001",
    "product_name": "普惠信用贷",
    "principal_fen": 800_000,
    "contract_rate_bp": 1_500,
    "contract_date": "2025-06-01",
    "due_date": "2026-06-01",
    "outstanding_principal_fen": 400_000,
    "outstanding_interest_fen": 12_000,
    "penalty_interest_fen": 0,
    "fees_fen": 0,
    "status": "current",
}
BORROWER = {
    "full_name": "赵敏",
    "id_number": ID_NUMBER,
    "birth_date": "1949-12-31",
    "phone": PHONE,
    "timezone": "Asia/Shanghai",
    "loans": [LOAN],
}


def with_(**changes) -> dict:
    body = copy.deepcopy(BORROWER)
    body.update(changes)
    return body


def with_loan(**changes) -> dict:
    return with_(loans=[{**LOAN, **changes}])


def leaks_pii(text: str) -> bool:
    return ID_NUMBER in text or ID_NUMBER.lower() in text or PHONE in text


@pytest.fixture
async def admin(client, session) -> dict[str, str]:
    await make_user(session, username="admin", role=Role.ADMIN)
    return await user_headers(client, username="admin")


async def test_admin_creates_a_borrower_without_keeping_the_id_number(client, session, admin):
    response = await client.post(URL, json=BORROWER, headers=admin)

    assert response.status_code == 201, response.text
    assert not leaks_pii(response.text)
    body = response.json()
    assert body["id_last4"] == "002X" and body["phone_masked"] == "138****5678"
    [loan] = body["loans"]
    assert loan["total_due_fen"] == 412_000 and loan["status"] == "current"
    # Without a schedule: one pending item, the whole amount due on the due date.
    assert loan["schedule"] == [
        {"seq": 1, "due_date": "2026-06-01", "amount_fen": 412_000, "paid_fen": 0, "status": "pending"}
    ]
    stored = await session.get(Borrower, body["id"])
    assert stored.id_number_hash == id_number_hash(ID_NUMBER, salt=TEST_SALT)
    assert ID_NUMBER not in repr(vars(stored))


async def test_creation_is_audited_without_personal_data(client, session, admin):
    body = (await client.post(URL, json=BORROWER, headers=admin)).json()

    event = await session.scalar(
        select(AuditEvent).where(AuditEvent.action == AuditAction.BORROWER_CREATED)
    )
    assert event.subject == f"borrower:{body['id']}"
    assert event.payload == {
        "borrower_id": body["id"],
        "id_last4": "002X",
        "loan_ids": [body["loans"][0]["id"]],
    }


async def test_created_borrower_can_verify_in_chat(client, admin, service_headers):
    await client.post(URL, json=BORROWER, headers=admin)
    chat = await open_chat(client)

    response = await client.post(
        f"/internal/v1/conversations/{chat['conversation_id']}/identity-verification",
        json={"full_name": "赵敏", "id_last4": "002x", "birth_date": "1949-12-31"},
        headers=service_headers,
    )

    assert response.json()["verified"] is True


async def test_explicit_schedule_is_stored_in_date_order(client, session, admin):
    schedule = [
        {"due_date": "2026-07-01", "amount_fen": 212_000},
        {"due_date": "2026-06-01", "amount_fen": 200_000},
    ]
    body = (await client.post(URL, json=with_loan(schedule=schedule), headers=admin)).json()

    items = body["loans"][0]["schedule"]
    assert [(i["seq"], i["due_date"], i["amount_fen"]) for i in items] == [
        (1, "2026-06-01", 200_000),
        (2, "2026-07-01", 212_000),
    ]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (with_(id_number="110105194912310021"), "身份证号码格式或校验位不正确"),
        (with_(birth_date="1949-12-30"), "出生日期与身份证号码不符"),
        (with_(phone="010-12345678"), "手机号码格式不正确"),
    ],
)
async def test_invalid_identity_data_is_refused_without_echoing_it(client, admin, body, detail):
    response = await client.post(URL, json=body, headers=admin)

    assert response.status_code == 422
    assert response.json()["error"] == "InvalidBorrowerData"
    assert detail in response.json()["detail"]
    assert "110105194912310021" not in response.text and not leaks_pii(response.text)


@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in BORROWER.items() if k != "loans"},  # missing field
        with_(timezone="Mars/Olympus"),
        with_(timezone="../../etc/passwd"),
        with_(full_name="赵\x00敏"),
        with_(loans=[]),
        with_(loans=[LOAN, LOAN]),  # the same contract twice
        with_loan(outstanding_principal_fen=900_000),  # more than the principal
        with_loan(status="settled"),  # settled but money still due
        with_loan(contract_date="2026-07-01"),  # after the due date
        with_loan(principal_fen=2**31),
        with_loan(schedule=[{"due_date": "2026-06-01", "amount_fen": 1}]),  # sum mismatch
        with_(unexpected="field"),
        [BORROWER],
    ],
)
async def test_invalid_import_is_422_and_never_echoes_personal_data(client, admin, body):
    response = await client.post(URL, json=body, headers=admin)

    assert response.status_code == 422, response.text
    assert not leaks_pii(response.text)


async def test_the_same_person_twice_is_409(client, admin):
    await client.post(URL, json=BORROWER, headers=admin)

    response = await client.post(
        URL, json=with_loan(contract_no="PH-2026-900002"), headers=admin
    )

    assert response.status_code == 409
    assert response.json()["error"] == "BorrowerExists"


async def test_a_contract_number_in_use_is_409(client, admin):
    await client.post(URL, json=BORROWER, headers=admin)

    response = await client.post(
        URL,
        json=with_(id_number="510107198001010013", birth_date="1980-01-01"),
        headers=admin,
    )

    assert response.status_code == 409
    assert response.json()["error"] == "ContractNoTaken"


async def test_concurrent_imports_of_one_person_create_one_borrower(client, session, admin):
    responses = await asyncio.gather(
        *(client.post(URL, json=BORROWER, headers=admin) for _ in range(3))
    )

    assert sorted(r.status_code for r in responses) == [201, 409, 409]
    assert await session.scalar(select(func.count()).select_from(Borrower)) == 1
    assert await session.scalar(select(func.count()).select_from(ScheduleItem)) == 1


async def test_only_admins_import(client, session, service_headers):
    for role in (Role.COLLECTOR, Role.COMPLIANCE):
        await make_user(session, username=f"u-{role}", role=role)
        headers = await user_headers(client, username=f"u-{role}")
        assert (await client.post(URL, json=BORROWER, headers=headers)).status_code == 403
    assert (await client.post(URL, json=BORROWER, headers=service_headers)).status_code == 401


async def run_manage(database_url: str, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "api.manage", *args,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "ID_HASH_SALT": TEST_SALT},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, output.decode()


async def test_seed_command_loads_the_demo_data_once(database_url, session):
    first = await run_manage(database_url, "seed")
    second = await run_manage(database_url, "seed")

    assert first[0] == 0 and "2 demo borrower(s) added, 3 demo user(s) added" in first[1]
    assert second[0] == 0 and "0 demo borrower(s) added, 0 demo user(s) added" in second[1]
    assert await session.scalar(select(func.count()).select_from(Borrower)) == 2


async def test_body_that_is_not_utf8_is_a_documented_422(client, admin):
    response = await client.post(
        URL, content=b'{"full_name": "\xff"}', headers={**admin, "Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


async def test_unknown_path_is_still_a_plain_404(client):
    response = await client.get("/api/v1/no-such-route")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}
