"""An agreement is kept when every amount it scheduled is paid, broken at its first
missed amount (AuditAction.AGREEMENT_STATUS_CHANGED)."""

from collections.abc import Collection

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.models import Agreement, AgreementStatus
from api.audit import service as audit
from api.audit.models import AuditAction
from api.loans.models import ScheduleItem, ScheduleItemStatus


def _outcome(statuses: list[str]) -> AgreementStatus | None:
    """Superseded items were replaced by a later arrangement and no longer count."""
    live = [s for s in statuses if s != ScheduleItemStatus.SUPERSEDED]
    if any(s == ScheduleItemStatus.MISSED for s in live):
        return AgreementStatus.BROKEN
    if live and all(s == ScheduleItemStatus.PAID for s in live):
        return AgreementStatus.KEPT
    return None


async def settle_agreement_statuses(
    session: AsyncSession, *, actor: str, agreement_ids: Collection[int] | None = None
) -> dict[int, AgreementStatus]:
    """Move active agreements (all of them, or those in `agreement_ids`) to kept or
    broken where their schedule says so; returns {agreement id: new status}. Flush only."""
    query = select(Agreement).where(Agreement.status == AgreementStatus.ACTIVE)
    if agreement_ids is not None:
        if not agreement_ids:
            return {}
        query = query.where(Agreement.id.in_(sorted(agreement_ids)))
    changed: dict[int, AgreementStatus] = {}
    for agreement in (await session.scalars(query.order_by(Agreement.id))).all():
        statuses = (
            await session.scalars(
                select(ScheduleItem.status).where(ScheduleItem.agreement_id == agreement.id)
            )
        ).all()
        outcome = _outcome(list(statuses))
        if outcome is None:
            continue
        # Compare-and-set: of two jobs racing on one agreement (a payment and the daily
        # reconciliation), only the one whose UPDATE still finds it active records it.
        result = await session.execute(
            update(Agreement)
            .where(Agreement.id == agreement.id, Agreement.status == AgreementStatus.ACTIVE)
            .values(status=outcome)
            .execution_options(synchronize_session="fetch")
        )
        if result.rowcount != 1:
            continue
        changed[agreement.id] = outcome
        await audit.append(
            session,
            actor=actor,
            action=AuditAction.AGREEMENT_STATUS_CHANGED,
            subject=f"agreement:{agreement.id}",
            payload={
                "loan_id": agreement.loan_id,
                "from": AgreementStatus.ACTIVE,
                "to": outcome,
            },
        )
    await session.flush()
    return changed
