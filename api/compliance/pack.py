"""Evidence pack per agreement (A2, D3; 电子签名法 Art. 8, 13): build it from the database
and render its human-readable HTML. `api/compliance/evidence.py` verifies a pack offline.

The pack holds the agreement (terms, terms hash, summary, consent), its schedule, the
consent message, the conversation's transcript, and every audit event about the
agreement, its quote and its conversation, complete (so their hashes can be recomputed),
plus the hash links (seq, prev_hash, hash — no content) of the events in between, so the
verifier can walk the chain from the first to the last included event without seeing
other borrowers' data. `section_sha256` and `pack_sha256` seal the file itself.
"""

import hashlib
import html
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.accept import agreement_no
from api.agreements.checks import quote_subject
from api.agreements.models import Agreement
from api.audit.models import AuditAction, AuditEvent
from api.audit.service import append, canonical_json, format_at
from api.compliance.errors import AgreementNotFound
from api.core.db import utcnow
from api.core.money import format_fen
from api.core.pii import mask_pii
from api.gateway.models import Message

FORMAT = "repayment-evidence-pack/1"
SECTIONS = ("agreement", "schedule", "consent_message", "transcript", "audit")


def sha256_json(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def seal(body: dict) -> dict:
    """Add the section hashes and the whole-pack hash (over everything else)."""
    sealed = {k: v for k, v in body.items() if k not in ("section_sha256", "pack_sha256")}
    sealed["section_sha256"] = {name: sha256_json(sealed[name]) for name in SECTIONS}
    sealed["pack_sha256"] = sha256_json(sealed)
    return sealed


def _iso(at: datetime | None) -> str | None:
    return format_at(at) if at is not None else None


def _message(m: Message, masked: bool) -> dict:
    return {"id": m.id, "sender": str(m.sender), "text": mask_pii(m.text) if masked else m.text,
            "at": _iso(m.created_at), "template": m.template, "status": str(m.status)}


def _event(e: AuditEvent) -> dict:
    return {"seq": e.seq, "at": format_at(e.at), "actor": e.actor, "action": str(e.action),
            "subject": e.subject, "payload": e.payload, "prev_hash": e.prev_hash, "hash": e.hash}


async def _audit_section(session: AsyncSession, agreement: Agreement) -> dict:
    subjects = [f"agreement:{agreement.id}", quote_subject(agreement.quote_id)]
    if agreement.conversation_id:
        subjects.append(f"conversation:{agreement.conversation_id}")
    events = (await session.scalars(
        select(AuditEvent).where(AuditEvent.subject.in_(subjects)).order_by(AuditEvent.seq))).all()
    links = []
    if events:
        included = {e.seq for e in events}
        rows = (await session.execute(
            select(AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.hash)
            .where(AuditEvent.seq > events[0].seq, AuditEvent.seq < events[-1].seq)
            .order_by(AuditEvent.seq))).all()
        links = [{"seq": s, "prev_hash": p, "hash": h} for s, p, h in rows if s not in included]
    return {"events": [_event(e) for e in events], "links": links}


async def build_pack(session: AsyncSession, *, agreement_id: int, actor: str, masked: bool = True) -> dict:
    """The sealed pack; its export is an audit event (export.created with its hash)."""
    agreement = await session.get(Agreement, agreement_id)
    if agreement is None:
        raise AgreementNotFound()
    messages = []
    if agreement.conversation_id:
        messages = (await session.scalars(select(Message).where(
            Message.conversation_id == agreement.conversation_id).order_by(Message.id))).all()
    consent = next((m for m in messages if m.id == agreement.consent_message_id), None)
    if consent is None and agreement.consent_message_id:
        consent = await session.get(Message, agreement.consent_message_id)
    pack = seal({
        "format": FORMAT,
        "generated_at": format_at(utcnow()),
        "generated_by": actor,
        "masked": masked,
        "agreement": {
            "id": agreement.id, "agreement_no": agreement_no(agreement), "quote_id": agreement.quote_id,
            "borrower_id": agreement.borrower_id, "loan_id": agreement.loan_id, "kind": agreement.kind,
            "policy_version": agreement.policy_version, "terms": agreement.terms,
            "terms_hash": agreement.terms_hash, "summary_text": agreement.summary_text,
            "consent_text": agreement.consent_text, "consent_message_id": agreement.consent_message_id,
            "channel": agreement.channel, "conversation_id": agreement.conversation_id,
            "status": str(agreement.status), "first_due_date": agreement.first_due_date.isoformat(),
            "created_at": format_at(agreement.created_at),
        },
        "schedule": agreement.terms.get("schedule", []),
        "consent_message": _message(consent, masked=False) if consent else None,
        "transcript": [_message(m, masked) for m in messages],
        "audit": await _audit_section(session, agreement),
    })
    await append(
        session, actor=actor, action=AuditAction.EXPORT_CREATED, subject=f"agreement:{agreement.id}",
        payload={"kind": "evidence_pack", "agreement_id": agreement.id, "pack_sha256": pack["pack_sha256"],
                 "masked": masked},
    )
    return pack


SENDERS = {"borrower": "借款人", "bot": "AI助手（人工智能生成）", "agent": "催收员", "system": "系统"}


def _rows(cells: list[list[Any]]) -> str:
    return "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in cells)


def _table(head: list[str], cells: list[list[Any]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{_rows(cells)}</tbody></table>"


def render_html(pack: dict) -> str:
    """A page a person can read and print; every value escaped. The JSON is the evidence."""
    a = pack["agreement"]
    terms = a["terms"]
    consent = pack["consent_message"] or {}
    esc = html.escape
    schedule = [[i + 1, item.get("due_date", ""), format_fen(item.get("amount_fen", 0))]
                for i, item in enumerate(pack["schedule"])]
    transcript = [[m["at"], SENDERS.get(m["sender"], m["sender"]), m["text"], m["template"] or ""]
                  for m in pack["transcript"]]
    events = [[e["seq"], e["at"], e["action"], e["subject"], e["actor"], e["hash"]] for e in pack["audit"]["events"]]
    summary = "<br>".join(esc(line) for line in a["summary_text"].splitlines())
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>证据包 {esc(a['agreement_no'])}</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:.5em 0 1.5em}}
td,th{{border:1px solid #bbb;padding:4px 8px;font-size:13px;text-align:left;vertical-align:top}}
code{{font-size:12px;word-break:break-all}}</style></head><body>
<h1>还款协议证据包 {esc(a['agreement_no'])}</h1>
<p>生成时间（UTC）：{esc(pack['generated_at'])}；生成人：{esc(pack['generated_by'])}；
证件号/手机号/银行卡号{'已遮蔽' if pack['masked'] else '未遮蔽'}。</p>
<p>校验：<code>python -m api.compliance.evidence verify 本包.json</code>；包哈希 <code>{esc(pack['pack_sha256'])}</code></p>
<h2>协议条款</h2>
{_table(['项目', '内容'], [['类型', a['kind']], ['政策版本', a['policy_version']], ['借款人编号', a['borrower_id']],
    ['贷款编号', a['loan_id']], ['渠道', a['channel']], ['状态', a['status']], ['首期还款日', a['first_due_date']],
    ['应还总额', format_fen(terms.get('total_repayable_fen', 0))],
    ['综合年化成本', f"{terms.get('annual_cost_bp', 0) / 100:.2f}%"], ['条款哈希', a['terms_hash']],
    ['签订时间（UTC）', a['created_at']]])}
<h2>向借款人展示的摘要</h2><p>{summary}</p>
<h2>还款计划</h2>{_table(['期数', '还款日', '金额'], schedule)}
<h2>同意行为</h2>
<p>借款人于 {esc(str(consent.get('at', '—')))}（UTC）发送：「{esc(str(consent.get('text', '无')))}」（消息 {esc(str(consent.get('id', '—')))}）</p>
<h2>完整对话记录</h2>{_table(['时间（UTC）', '发送方', '内容', '模板/模型'], transcript)}
<h2>审计事件（哈希链）</h2>{_table(['序号', '时间', '动作', '对象', '操作人', '哈希'], events)}
<p>中间事件链接 {len(pack['audit']['links'])} 条（仅含序号与哈希，用于验证链条连续）。</p>
</body></html>"""
