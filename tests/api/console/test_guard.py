"""The pre-send guard on the console's send route, over the guard's own data sets
(tests/api/guard/data): every prohibited draft is refused with its rule and a Chinese
reason and nothing reaches the borrower; every acceptable message goes out.

Drafts marked `party_verified: false` are sent into a conversation whose party has not
verified (P1/P4); the others into one where the borrower has verified, so a debt figure
is allowed there and only the language rules apply.
"""

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from api.audit.models import AuditEvent
from api.gateway.models import Message, Sender
from tests.api.console.conftest import ZHANG, url

DATA = Path(__file__).resolve().parents[1] / "guard" / "data"
PROHIBITED = yaml.safe_load((DATA / "prohibited.yml").read_text(encoding="utf-8"))
ACCEPTABLE = yaml.safe_load((DATA / "acceptable.yml").read_text(encoding="utf-8"))


def test_both_sets_are_large_and_cover_every_kind_of_draft():
    assert len(PROHIBITED) >= 60 and len(ACCEPTABLE) >= 60
    categories = {c["category"] for c in PROHIBITED}
    # threats, fake legal language, workplace/family threats, insults, "借钱还", disclosure
    assert {"threat_violence", "fake_legal", "workplace_family_threat", "insult", "borrow_to_repay",
            "debt_detail_unverified"} <= categories
    assert any(c.get("party_verified") is False for c in PROHIBITED)


@pytest.fixture
async def conversations(client, seeded, staff, escalate, service_headers) -> dict[bool, str]:
    """{party_verified: conversation id}, both claimed by collector-a."""
    verified = await escalate("E2", verify=ZHANG, service_headers=service_headers)
    unverified = await escalate("E2")
    for borrower in (verified, unverified):
        response = await client.post(url(borrower.id, "claim"), headers=staff["collector-a"])
        assert response.status_code == 200, response.text
    return {True: verified.id, False: unverified.id}


async def _agent_messages(session, conversation_ids) -> int:
    session.expire_all()
    return await session.scalar(select(func.count(Message.id)).where(
        Message.sender == Sender.AGENT, Message.conversation_id.in_(list(conversation_ids))))


async def test_no_prohibited_draft_passes(client, session, staff, conversations):
    passed = []
    for case in PROHIBITED:
        target = conversations[case.get("party_verified", True)]
        response = await client.post(url(target, "messages"), json={"text": case["text"]},
                                     headers=staff["collector-a"])
        body = response.json()
        if response.status_code != 422 or body.get("error") != "MessageBlocked":
            passed.append((case["text"], response.status_code, body))
            continue
        assert (case["rule_id"], case["category"]) in {(v["rule_id"], v["category"]) for v in body["violations"]}
        assert all(v["reason"] and not v["reason"].isascii() for v in body["violations"])  # Chinese reason
    assert passed == []
    assert await _agent_messages(session, conversations.values()) == 0
    blocked = await session.scalar(select(func.count(AuditEvent.seq)).where(
        AuditEvent.action == "console.message_blocked"))
    assert blocked == len(PROHIBITED)


async def test_no_acceptable_message_is_blocked(client, session, staff, conversations):
    blocked = []
    for case in ACCEPTABLE:
        target = conversations[case.get("party_verified", True)]
        response = await client.post(url(target, "messages"), json={"text": case["text"]},
                                     headers=staff["collector-a"])
        if response.status_code != 201:
            blocked.append((case["text"], response.status_code, response.json()))
    assert blocked == []
    assert await _agent_messages(session, conversations.values()) == len(ACCEPTABLE)
