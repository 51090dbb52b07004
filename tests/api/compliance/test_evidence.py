"""Evidence packs: export, offline verification, and any edit detected and named."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from api.audit.models import AuditAction, AuditEvent
from api.compliance.evidence import main, verify_pack
from api.compliance.pack import seal
from api.gateway.models import Message, MessageStatus, Sender
from tests.api.compliance.helpers import agreement_in_chat, staff_headers

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def exported(client, session, seeded, service_headers):
    headers = await staff_headers(client, session)
    conversation_id, agreement_id = await agreement_in_chat(client, session, service_headers)
    session.add(Message(conversation_id=conversation_id, sender=Sender.BORROWER,
                        text="<script>alert(1)</script> 电话13812345678", status=MessageStatus.ROUTED))
    await session.commit()
    response = await client.get(f"/api/v1/compliance/agreements/{agreement_id}/evidence", headers=headers)
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    return {"pack": response.json(), "headers": headers, "agreement_id": agreement_id}


def _cli(tmp_path: Path, pack: dict, capsys) -> tuple[int, str]:
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(pack, ensure_ascii=False), encoding="utf-8")
    code = main(["verify", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


async def test_exported_pack_verifies_offline(exported, tmp_path, capsys):
    pack = exported["pack"]
    assert verify_pack(pack) == []
    code, output = _cli(tmp_path, pack, capsys)
    assert code == 0 and "证据包完整" in output
    assert pack["consent_message"]["text"] == "确认"
    assert pack["schedule"] == pack["agreement"]["terms"]["schedule"]
    actions = [e["action"] for e in pack["audit"]["events"]]
    assert "agreement.created" in actions and "quote.created" in actions
    assert all("13812345678" not in m["text"] for m in pack["transcript"])


async def test_the_export_is_an_audit_event_carrying_the_pack_hash(exported, session):
    [event] = (await session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.EXPORT_CREATED))).all()
    assert event.payload["pack_sha256"] == exported["pack"]["pack_sha256"]
    assert event.subject == f"agreement:{exported['agreement_id']}"


def _tampered(pack: dict, edit, *, reseal: bool) -> dict:
    changed = copy.deepcopy(pack)
    edit(changed)
    return seal(changed) if reseal else changed


async def test_an_edited_transcript_is_detected_and_named(exported, tmp_path, capsys):
    def edit(p):
        p["transcript"][1]["text"] = "我同意全额还款"

    code, output = _cli(tmp_path, _tampered(exported["pack"], edit, reseal=False), capsys)
    assert code == 1
    assert "pack_sha256" in output and "transcript:" in output


async def test_edited_terms_are_detected_even_when_resealed(exported):
    def edit(p):
        p["agreement"]["terms"]["total_repayable_fen"] += 100

    problems = verify_pack(_tampered(exported["pack"], edit, reseal=True))
    assert problems == ["agreement.terms: 协议条款与条款哈希不符（条款被修改）"]


async def test_edited_audit_event_is_detected_even_when_resealed(exported):
    def edit(p):
        p["audit"]["events"][0]["payload"]["kind"] = "extension"

    problems = verify_pack(_tampered(exported["pack"], edit, reseal=True))
    seq = exported["pack"]["audit"]["events"][0]["seq"]
    assert f"audit event #{seq}: 内容与哈希不符（quote.created 被修改）" in problems


async def test_replaced_consent_is_detected(exported):
    def edit(p):
        p["consent_message"]["text"] = "好吧"

    problems = verify_pack(_tampered(exported["pack"], edit, reseal=True))
    assert any(p.startswith("consent_message:") for p in problems)
    assert any(p.startswith("transcript:") for p in problems)


async def test_a_removed_audit_event_breaks_the_chain(exported):
    def edit(p):
        created = next(e for e in p["audit"]["events"] if e["action"] == "agreement.created")
        p["audit"]["events"].remove(created)

    problems = verify_pack(_tampered(exported["pack"], edit, reseal=True))
    assert "audit: 缺少该协议的 agreement.created 审计事件" in problems


async def test_the_cli_runs_as_a_module(exported, tmp_path):
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(exported["pack"], ensure_ascii=False), encoding="utf-8")
    ok = subprocess.run([sys.executable, "-m", "api.compliance.evidence", "verify", str(path)],
                        cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    tampered = json.loads(path.read_text(encoding="utf-8"))
    tampered["agreement"]["summary_text"] += "（已修改）"
    path.write_text(json.dumps(tampered, ensure_ascii=False), encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "api.compliance.evidence", "verify", str(path)],
                         cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "agreement:" in bad.stderr and "agreement.summary_text" in bad.stderr


async def test_html_view_escapes_everything(exported, client):
    response = await client.get(f"/api/v1/compliance/agreements/{exported['agreement_id']}/evidence.html",
                                headers=exported["headers"])
    assert response.status_code == 200
    assert "<script>alert" not in response.text and "&lt;script&gt;alert(1)" in response.text
    assert "还款协议证据包" in response.text


async def test_unknown_agreement_is_404(client, session):
    headers = await staff_headers(client, session)
    assert (await client.get("/api/v1/compliance/agreements/999/evidence", headers=headers)).status_code == 404
