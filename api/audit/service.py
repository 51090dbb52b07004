"""Append to and verify the audit hash chain (A2; 电子签名法 Art. 8, 13).

Each event's hash is SHA-256 over the canonical JSON of its content and the previous
event's hash, so editing, deleting or reordering any stored event breaks a link that
`verify` finds. `append` only flushes: the event commits together with the state
change it records, or not at all.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.models import GENESIS_HASH, AuditAction, AuditEvent
from api.core.db import utcnow

# Any constant bigint works; it only has to be the same for every writer of the chain.
# It spells "auditlog" so it is recognisable in pg_locks.
CHAIN_LOCK_KEY = int.from_bytes(b"auditlog", "big") & 0x7FFF_FFFF_FFFF_FFFF

ACTOR_MAX = 128
SUBJECT_MAX = 128


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text as is; NaN/Infinity are not JSON and refused."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def format_at(at: datetime) -> str:
    """UTC with fixed microsecond precision: both backends store microseconds exactly,
    so the timestamp read back hashes to the same text that was hashed on append."""
    if at.tzinfo is None:
        raise ValueError("naive datetime refused: audit times are UTC")
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    payload: Mapping[str, Any],
    prev_hash: str,
) -> str:
    content = {
        "seq": seq,
        "at": format_at(at),
        "actor": actor,
        "action": str(action),
        "subject": subject,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


async def _lock_chain(session: AsyncSession) -> None:
    """Serialise appenders until this transaction ends, before the chain head is read.

    PostgreSQL: a transaction-scoped advisory lock, released by COMMIT or ROLLBACK. Under
    the default READ COMMITTED isolation the head query that follows runs with a fresh
    snapshot, so it sees the event the previous lock holder committed.

    SQLite: the driver opens its (deferred) transaction only at the first write, and a
    plain SELECT before that runs outside any transaction, where another writer may
    commit between our read and our insert. A write that touches no rows still takes
    SQLite's single write lock (waiting up to busy_timeout for it) and starts the
    transaction, so the head read below happens inside a write transaction that no other
    writer can interleave with. `BEGIN IMMEDIATE` would say the same more directly, but
    the driver owns BEGIN, and a session may already be inside its transaction here.

    On both, the unique seq and prev_hash columns stay as the backstop: if the lock were
    ever bypassed (e.g. REPEATABLE READ with a stale snapshot), the second writer fails
    with an IntegrityError instead of forking the chain.
    """
    connection = await session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK_KEY)))
    elif dialect == "sqlite":
        await session.execute(text("UPDATE audit_events SET seq = seq WHERE 0"))
    else:
        raise NotImplementedError(f"audit chain lock not implemented for {dialect}")


async def append(
    session: AsyncSession,
    *,
    actor: str,
    action: AuditAction,
    subject: str,
    payload: Mapping[str, Any],
) -> AuditEvent:
    """Add the next event to the chain (flush only; the caller's transaction commits it).

    Call it last in the unit of work where practical: on PostgreSQL the chain lock is
    held until that transaction ends, so every other appender waits for it.
    """
    action = AuditAction(action)
    if not actor or len(actor) > ACTOR_MAX:
        raise ValueError(f"actor must be 1..{ACTOR_MAX} characters")
    if not subject or len(subject) > SUBJECT_MAX:
        raise ValueError(f"subject must be 1..{SUBJECT_MAX} characters")
    # Store exactly what is hashed: the JSON round trip turns tuples into lists and
    # refuses what JSON cannot hold (datetimes, Decimals, NaN) before anything is written.
    stored_payload = json.loads(canonical_json(dict(payload)))

    await _lock_chain(session)
    head = (
        await session.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        )
    ).first()
    seq, prev_hash = (head.seq + 1, head.hash) if head else (1, GENESIS_HASH)
    at = utcnow()  # taken under the lock, so times follow seq order on one clock
    event = AuditEvent(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        payload=stored_payload,
        prev_hash=prev_hash,
        hash=event_hash(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            payload=stored_payload,
            prev_hash=prev_hash,
        ),
    )
    session.add(event)
    await session.flush()
    return event


class BreakReason(StrEnum):
    SEQ_GAP = "seq_gap"  # a missing or reordered event
    HASH_MISMATCH = "hash_mismatch"  # the event's content was changed after it was written
    PREV_HASH_MISMATCH = "prev_hash_mismatch"  # the link to the previous event is broken


# Read by compliance reviewers (the verify endpoint) and operators (the CLI).
BREAK_DETAILS = {
    BreakReason.SEQ_GAP: "序号不连续：应为第 {expected} 条，实际为第 {seq} 条（事件缺失或顺序被改动）",
    BreakReason.HASH_MISMATCH: "第 {seq} 条事件的内容与其哈希不符（内容被修改）",
    BreakReason.PREV_HASH_MISMATCH: "第 {seq} 条事件记录的前序哈希与前一条事件的哈希不符（链条断裂）",
}


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    checked: int  # events whose links were verified before the first break (or all)
    # The verified head: record it outside the database to detect a truncated tail later.
    head_seq: int | None
    head_hash: str | None
    broken_seq: int | None = None
    reason: BreakReason | None = None
    detail: str | None = None


def _check(row, *, expected_seq: int, expected_prev: str) -> BreakReason | None:
    if row.seq != expected_seq:
        return BreakReason.SEQ_GAP
    recomputed = event_hash(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        payload=row.payload,
        prev_hash=row.prev_hash,
    )
    if recomputed != row.hash:
        return BreakReason.HASH_MISMATCH
    if row.prev_hash != expected_prev:
        return BreakReason.PREV_HASH_MISMATCH
    return None


def _broken_report(
    seq: int, reason: BreakReason, checked: int, last_good_seq: int, last_good_hash: str
) -> VerifyReport:
    return VerifyReport(
        ok=False,
        checked=checked,
        head_seq=last_good_seq or None,
        head_hash=last_good_hash if last_good_seq else None,
        broken_seq=seq,
        reason=reason,
        detail=BREAK_DETAILS[reason].format(seq=seq, expected=last_good_seq + 1),
    )


async def verify(session: AsyncSession, *, batch_size: int = 1000) -> VerifyReport:
    """Walk the chain in seq order and report the first broken link.

    Keyset pagination (seq > last seen) over plain columns, never ORM objects: memory
    stays at one batch however long the chain is, and each batch is an index range scan.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    columns = (
        AuditEvent.seq,
        AuditEvent.at,
        AuditEvent.actor,
        AuditEvent.action,
        AuditEvent.subject,
        AuditEvent.payload,
        AuditEvent.prev_hash,
        AuditEvent.hash,
    )
    checked, last_seq, prev_hash = 0, 0, GENESIS_HASH
    while True:
        rows = (
            await session.execute(
                select(*columns)
                .where(AuditEvent.seq > last_seq)
                .order_by(AuditEvent.seq)
                .limit(batch_size)
            )
        ).all()
        for row in rows:
            reason = _check(row, expected_seq=last_seq + 1, expected_prev=prev_hash)
            if reason is not None:
                return _broken_report(row.seq, reason, checked, last_seq, prev_hash)
            checked, last_seq, prev_hash = checked + 1, row.seq, row.hash
        if len(rows) < batch_size:
            break
    return VerifyReport(
        ok=True,
        checked=checked,
        head_seq=last_seq or None,
        head_hash=prev_hash if last_seq else None,
    )
