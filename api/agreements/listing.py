"""Agreements as staff see them (admin and compliance): one borrower's, newest first."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.models import Agreement


@dataclass(frozen=True)
class AgreementPage:
    items: list[Agreement]
    total: int
    page: int
    page_size: int


async def list_agreements(
    session: AsyncSession, *, borrower_id: int, page: int, page_size: int
) -> AgreementPage:
    if page < 1 or page_size < 1:
        raise ValueError("page and page_size start at 1")
    total = await session.scalar(
        select(func.count()).select_from(Agreement).where(Agreement.borrower_id == borrower_id)
    )
    items = (
        await session.scalars(
            select(Agreement)
            .where(Agreement.borrower_id == borrower_id)
            .order_by(Agreement.created_at.desc(), Agreement.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    ).all()
    return AgreementPage(items=list(items), total=total or 0, page=page, page_size=page_size)
