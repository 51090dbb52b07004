"""The audit hash chain (A2): appends link up, any rewrite of history is found by verify."""

import asyncio
import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from api.audit import service as audit
from api.audit.models import GENESIS_HASH, AuditAction, AuditEvent
from api.audit.service import BreakReason, canonical_json, event_hash
from api.core.db import make_engine, make_sessionmaker
from tests.api.audit.helpers import append_events, append_one, tamper


def only_postgresql(database_url: str) -> None:
    if "sqlite" in database_url:
        pytest.skip("PostgreSQL-only behaviour")


async def test_empty_chain_verifies(session):
    report = await audit.verify(session)
    assert report.ok and report.checked == 0 and report.head_seq is None


async def test_appended_events_form_a_verifiable_chain(session):
    events = await append_events(session, 5)

    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:]))
    report = await audit.verify(session, batch_size=2)  # crosses batch boundaries
    assert report.ok
    assert (report.checked, report.head_seq, report.head_hash) == (5, 5, events[-1].hash)


async def test_hash_is_sha256_over_canonical_json_of_the_event(session):
    [event] = await append_events(session, 1)
    stored = (await session.execute(select(AuditEvent).where(AuditEvent.seq == 1))).scalar_one()

    # Recomputed here from the documented rule, not via the service's own helper.
    canonical = json.dumps(
        {
            "seq": 1,
            "at": stored.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": "service:actions",
            "action": "payment.recorded",
            "subject": "loan:1",
            "payload": {"amount_fen": 10_000, "note": "第1笔还款"},
            "prev_hash": GENESIS_HASH,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert '"note":"第1笔还款"' in canonical  # UTF-8 text, not \u escapes
    assert stored.hash == event.hash == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


async def test_payload_that_json_cannot_hold_is_refused_before_writing(session):
    for payload in ({"at": object()}, {"ratio": float("nan")}):
        with pytest.raises((TypeError, ValueError)):
            await append_one(session, payload=payload)
    assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 0


async def test_unknown_action_is_refused(session):
    with pytest.raises(ValueError):
        await append_one(session, action="loan.deleted")


async def test_rolled_back_append_leaves_no_gap(session):
    await append_events(session, 2)
    await append_one(session, action=AuditAction.ESCALATION_OPENED)
    await session.rollback()
    [event] = await append_events(session, 1, start=3)

    assert event.seq == 3
    assert (await audit.verify(session)).ok


@pytest.mark.parametrize(
    "values",
    [
        {"payload": {"amount_fen": 1, "note": "第3笔还款"}},
        {"actor": "user:999"},
        {"subject": "loan:999"},
    ],
    ids=["payload", "actor", "subject"],
)
async def test_edited_event_is_detected_at_its_seq(session, values):
    await append_events(session, 5)
    await tamper(session, update(AuditEvent).where(AuditEvent.seq == 3).values(**values))

    report = await audit.verify(session)
    assert not report.ok
    assert (report.broken_seq, report.reason, report.checked) == (3, BreakReason.HASH_MISMATCH, 2)
    assert report.head_seq == 2
    assert "第 3 条" in report.detail


async def test_edited_timestamp_is_detected(session):
    events = await append_events(session, 3)
    await tamper(
        session,
        update(AuditEvent)
        .where(AuditEvent.seq == 2)
        .values(at=events[1].at - timedelta(microseconds=1)),
    )

    report = await audit.verify(session)
    assert (report.broken_seq, report.reason) == (2, BreakReason.HASH_MISMATCH)


async def test_edit_with_recomputed_hash_breaks_the_next_link(session):
    events = await append_events(session, 5)
    forged_payload = {"amount_fen": 1}
    third = events[2]
    forged_hash = event_hash(
        seq=3,
        at=third.at,
        actor=third.actor,
        action=third.action,
        subject=third.subject,
        payload=forged_payload,
        prev_hash=third.prev_hash,
    )
    await tamper(
        session,
        update(AuditEvent)
        .where(AuditEvent.seq == 3)
        .values(payload=forged_payload, hash=forged_hash),
    )

    report = await audit.verify(session)
    assert (report.broken_seq, report.reason) == (4, BreakReason.PREV_HASH_MISMATCH)


@pytest.mark.parametrize("batch_size", [1000, 2])
async def test_deleted_event_is_detected_as_a_gap(session, batch_size):
    await append_events(session, 5)
    await tamper(session, delete(AuditEvent).where(AuditEvent.seq == 3))

    report = await audit.verify(session, batch_size=batch_size)
    assert (report.broken_seq, report.reason, report.checked) == (4, BreakReason.SEQ_GAP, 2)
    assert "应为第 3 条" in report.detail


async def test_deleted_first_event_is_detected(session):
    await append_events(session, 3)
    await tamper(session, delete(AuditEvent).where(AuditEvent.seq == 1))

    report = await audit.verify(session)
    assert (report.broken_seq, report.reason, report.checked) == (2, BreakReason.SEQ_GAP, 0)


async def test_reordered_events_are_detected(session):
    await append_events(session, 5)
    # Swap events 2 and 3 through a free number (primary keys are checked row by row).
    await tamper(
        session,
        update(AuditEvent).where(AuditEvent.seq == 2).values(seq=-2),
        update(AuditEvent).where(AuditEvent.seq == 3).values(seq=2),
        update(AuditEvent).where(AuditEvent.seq == -2).values(seq=3),
    )

    report = await audit.verify(session)
    assert (report.broken_seq, report.reason) == (2, BreakReason.HASH_MISMATCH)


async def test_postgresql_refuses_update_delete_and_truncate(database_url, session):
    only_postgresql(database_url)
    await append_events(session, 2)
    for statement in (
        update(AuditEvent).where(AuditEvent.seq == 1).values(actor="user:999"),
        delete(AuditEvent).where(AuditEvent.seq == 2),
        text("TRUNCATE audit_events"),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(statement)
        await session.rollback()

    assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 2
    assert (await audit.verify(session)).ok


async def test_second_appender_waits_for_the_first_to_commit(database_url, session):
    """The chain lock is held until commit: a concurrent append cannot read the head
    until the first transaction ends, so it links to the committed event."""
    await append_events(session, 1)
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        first, second = (make_sessionmaker(e)() for e in engines)
        async with first, second:
            await append_one(first, actor="user:1")
            waiting = asyncio.create_task(append_one(second, actor="user:2"))
            await asyncio.sleep(0.3)
            assert not waiting.done()
            await first.commit()
            second_event = await asyncio.wait_for(waiting, timeout=5)
            await second.commit()
    finally:
        for engine in engines:
            await engine.dispose()

    assert second_event.seq == 3
    assert (await audit.verify(session)).ok


async def test_unique_columns_refuse_a_fork_even_without_the_lock(
    database_url, session, monkeypatch
):
    async def no_lock(_session):
        return None

    monkeypatch.setattr(audit, "_lock_chain", no_lock)
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        first, second = (make_sessionmaker(e)() for e in engines)
        async with first, second:
            await append_one(first, subject="export:1")
            racing = asyncio.create_task(append_one(second, subject="export:2"))
            await asyncio.sleep(0.3)
            await first.commit()
            with pytest.raises(IntegrityError):
                await asyncio.wait_for(racing, timeout=10)
    finally:
        for engine in engines:
            await engine.dispose()

    report = await audit.verify(session)
    assert report.ok and report.checked == 1


async def test_concurrent_appenders_build_one_unbroken_chain(database_url, session):
    """20 writers on their own engines (own connections), 3 events per transaction."""
    writers, per_writer = 20, 3
    engines = [make_engine(database_url) for _ in range(writers)]

    async def write(index: int, engine) -> None:
        async with make_sessionmaker(engine).begin() as writer_session:
            for n in range(per_writer):
                await audit.append(
                    writer_session,
                    actor=f"user:{index}",
                    action=AuditAction.PAYMENT_RECORDED,
                    subject=f"loan:{index}",
                    payload={"n": n},
                )
                await asyncio.sleep(0)  # let the other writers run in between

    try:
        await asyncio.gather(*(write(i, e) for i, e in enumerate(engines)))
    finally:
        for engine in engines:
            await engine.dispose()

    report = await audit.verify(session)
    assert report.ok, report
    assert report.checked == report.head_seq == writers * per_writer
    # The lock is held per transaction, so each writer's events sit together in order.
    actors = (await session.scalars(select(AuditEvent.actor).order_by(AuditEvent.seq))).all()
    runs = [actors[i : i + per_writer] for i in range(0, len(actors), per_writer)]
    assert all(len(set(run)) == 1 for run in runs)
    assert len({run[0] for run in runs}) == writers


def test_canonical_json_is_sorted_compact_and_utf8():
    value = {"b": 1, "a": {"d": "张伟", "c": [1, 2]}}
    assert canonical_json(value) == '{"a":{"c":[1,2],"d":"张伟"},"b":1}'
