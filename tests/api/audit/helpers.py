"""Filling and tampering with the audit chain in tests."""

from sqlalchemy import Executable, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import service as audit
from api.audit.models import AuditAction, AuditEvent


async def append_events(session: AsyncSession, count: int, *, start: int = 1) -> list[AuditEvent]:
    """Append `count` payment events and commit them."""
    events = [
        await audit.append(
            session,
            actor="service:actions",
            action=AuditAction.PAYMENT_RECORDED,
            subject=f"loan:{n}",
            payload={"amount_fen": 10_000 * n, "note": f"第{n}笔还款"},
        )
        for n in range(start, start + count)
    ]
    await session.commit()
    return events


async def append_one(
    session: AsyncSession,
    *,
    actor: str = "system",
    action: AuditAction = AuditAction.EXPORT_CREATED,
    subject: str = "export:1",
    payload: dict | None = None,
) -> AuditEvent:
    """One append, not committed."""
    return await audit.append(
        session, actor=actor, action=action, subject=subject, payload=payload or {}
    )


async def tamper(session: AsyncSession, *statements: Executable) -> None:
    """Run statements that rewrite audit history, as an attacker with table-owner rights
    would: on PostgreSQL that means switching the append-only triggers off first."""
    postgres = (await session.connection()).dialect.name == "postgresql"
    if postgres:
        await session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    for statement in statements:
        await session.execute(statement)
    if postgres:
        await session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    await session.commit()
