"""Verify an evidence pack offline: `python -m api.compliance.evidence verify pack.json`.

Needs no database and no network. Exit 0 when every check passes; exit 1 with one line
per failed check naming what changed; exit 2 when the file cannot be read as a pack.

Checks, in order:
1. the pack's own seal: `pack_sha256` over the whole pack and `section_sha256` per
   section (names the section that was edited when the seal was not recomputed);
2. the agreement: `terms_hash` is the SHA-256 of the canonical terms; the schedule is the
   terms' schedule; the `agreement.created` audit event names this agreement, its terms
   hash, its summary's hash and its consent message;
3. the consent act (D3): the consent message is the borrower's, reads exactly 「确认」, is
   the one the agreement cites, and appears unchanged in the transcript;
4. the audit chain (A2): every included event's hash recomputes from its content and
   its prev_hash; with the links between them, seqs are contiguous and each prev_hash is
   the previous event's hash.

What it cannot prove offline: a forger who edits the transcript *and* recomputes the seal
produces a consistent file. The export itself is an audit event carrying `pack_sha256`, so
comparing with the live chain (`GET /api/v1/audit/verify` plus that event) settles it.
"""

import argparse
import hashlib
import json
import sys
from datetime import datetime
from pathlib import Path

from api.audit.service import canonical_json, event_hash

CONSENT_WORDS = ("确认",)


def _sha(value) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _seal_problems(pack: dict) -> list[str]:
    problems = []
    body = {k: v for k, v in pack.items() if k != "pack_sha256"}
    if _sha(body) != pack.get("pack_sha256"):
        problems.append("pack_sha256: 证据包内容与包哈希不符（文件被修改）")
    for name, recorded in (pack.get("section_sha256") or {}).items():
        if name not in pack or _sha(pack[name]) != recorded:
            problems.append(f"{name}: 该部分内容与其哈希不符（被修改）")
    return problems


def _created_event(pack: dict) -> dict | None:
    agreement_id = pack["agreement"]["id"]
    return next(
        (e for e in pack["audit"]["events"]
         if e["action"] == "agreement.created" and e["subject"] == f"agreement:{agreement_id}"),
        None,
    )


def _agreement_problems(pack: dict) -> list[str]:
    a = pack["agreement"]
    problems = []
    if _sha(a["terms"]) != a["terms_hash"]:
        problems.append("agreement.terms: 协议条款与条款哈希不符（条款被修改）")
    if pack["schedule"] != a["terms"].get("schedule"):
        problems.append("schedule: 还款计划与协议条款中的计划不一致")
    created = _created_event(pack)
    if created is None:
        return problems + ["audit: 缺少该协议的 agreement.created 审计事件"]
    payload = created["payload"]
    expected = {
        "terms_hash": a["terms_hash"],
        "summary_sha256": hashlib.sha256(a["summary_text"].encode("utf-8")).hexdigest(),
        "consent_message_id": a["consent_message_id"],
        "kind": a["kind"],
        "loan_id": a["loan_id"],
    }
    for key, value in expected.items():
        if key in payload and payload[key] != value:
            field = "summary_text" if key == "summary_sha256" else key
            problems.append(f"agreement.{field}: 与审计事件 #{created['seq']} 记录的值不符")
    return problems


def _consent_problems(pack: dict) -> list[str]:
    a, consent = pack["agreement"], pack["consent_message"]
    if consent is None:
        return ["consent_message: 证据包中没有同意消息（D3）"]
    problems = []
    if consent["id"] != a["consent_message_id"]:
        problems.append("consent_message.id: 与协议引用的同意消息不符")
    if consent["sender"] != "borrower" or consent["text"].strip() not in CONSENT_WORDS:
        problems.append("consent_message: 不是借款人发送的「确认」")
    in_transcript = next((m for m in pack["transcript"] if m["id"] == consent["id"]), None)
    if in_transcript is not None and in_transcript["text"] != consent["text"]:
        problems.append(f"transcript: 第 {consent['id']} 条消息与同意消息不一致")
    return problems


def _chain_problems(pack: dict) -> list[str]:
    problems = []
    for e in pack["audit"]["events"]:
        recomputed = event_hash(
            seq=e["seq"], at=datetime.fromisoformat(e["at"].replace("Z", "+00:00")), actor=e["actor"],
            action=e["action"], subject=e["subject"], payload=e["payload"], prev_hash=e["prev_hash"],
        )
        if recomputed != e["hash"]:
            problems.append(f"audit event #{e['seq']}: 内容与哈希不符（{e['action']} 被修改）")
    chain = sorted(
        [(e["seq"], e["prev_hash"], e["hash"]) for e in pack["audit"]["events"]]
        + [(link["seq"], link["prev_hash"], link["hash"]) for link in pack["audit"]["links"]]
    )
    for (seq_a, _, hash_a), (seq_b, prev_b, _) in zip(chain, chain[1:]):
        if seq_b != seq_a + 1:
            problems.append(f"audit chain: 第 {seq_a} 与第 {seq_b} 条之间缺少事件")
        elif prev_b != hash_a:
            problems.append(f"audit chain: 第 {seq_b} 条的前序哈希与第 {seq_a} 条的哈希不符（链条断裂）")
    return problems


def verify_pack(pack: dict) -> list[str]:
    """Every problem found, one line each naming what changed; [] means the pack is intact."""
    return [
        *_seal_problems(pack),
        *_agreement_problems(pack),
        *_consent_problems(pack),
        *_chain_problems(pack),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.compliance.evidence")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("verify", help="verify an evidence pack (JSON) offline")
    check.add_argument("pack", type=Path)
    args = parser.parse_args(argv)
    try:
        pack = json.loads(args.pack.read_text(encoding="utf-8"))
        problems = verify_pack(pack)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"无法读取证据包 {args.pack}: {exc!r}", file=sys.stderr)
        return 2
    if problems:
        print(f"证据包校验失败（{len(problems)} 项）：", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    a = pack["agreement"]
    print(f"证据包完整：协议 {a['agreement_no']}，审计事件 {len(pack['audit']['events'])} 条，"
          f"链接 {len(pack['audit']['links'])} 条，包哈希 {pack['pack_sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
