"""Outreach for staff (mounted at /api/v1/outreach): a borrower's outreach log
(compliance, admin) and the lender's pause flag on a loan (admin, O5)."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.core.db import utcnow
from api.core.deps import SessionDep
from api.core.errors import NotAuthenticated, error_response_doc
from api.outreach import service
from api.outreach.errors import BorrowerNotFound, LoanNotFound
from api.outreach.schemas import CollectionPauseIn, CollectionPauseOut, OutreachOut
from api.users.deps import CurrentUser, require_roles
from api.users.errors import PermissionDenied
from api.users.models import Role

router = APIRouter()

RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get(
    "/borrowers/{borrower_id}/messages",
    response_model=list[OutreachOut],
    dependencies=[require_roles(Role.ADMIN, Role.COMPLIANCE)],
    responses=error_response_doc(NotAuthenticated, PermissionDenied, BorrowerNotFound),
)
async def list_borrower_outreach(
    borrower_id: RowId, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=service.LOG_LIMIT_MAX)] = 100,
) -> list[OutreachOut]:
    rows = await service.borrower_outreach(session, borrower_id=borrower_id, limit=limit)
    return [OutreachOut.model_validate(row) for row in rows]


@router.put(
    "/loans/{loan_id}/pause",
    response_model=CollectionPauseOut,
    dependencies=[require_roles(Role.ADMIN)],
    responses=error_response_doc(NotAuthenticated, PermissionDenied, LoanNotFound),
)
async def set_loan_pause(
    loan_id: RowId, body: CollectionPauseIn, session: SessionDep, user: CurrentUser
) -> CollectionPauseOut:
    loan = await service.set_collection_pause(
        session, loan_id=loan_id, paused=body.paused, reason=body.reason,
        actor=f"user:{user.id}", now=utcnow(),
    )
    return CollectionPauseOut(loan_id=loan.id, borrower_id=loan.borrower_id,
                              collection_paused=loan.collection_paused)
