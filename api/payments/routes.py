"""Payments received against a loan. Mounted at /api/v1/loans; admin role only (the
service token is not enough: the action server never records money)."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from api.core.deps import SessionDep
from api.core.errors import NotAuthenticated, error_response_doc
from api.payments import service
from api.payments.errors import LoanNotFound, Overpayment, PaymentConflict
from api.payments.schemas import MAX_FEN, PaymentIn, PaymentOut
from api.users.deps import require_roles
from api.users.errors import PermissionDenied
from api.users.models import Role, User
from api.users.service import user_actor

router = APIRouter()
AdminUser = Annotated[User, require_roles(Role.ADMIN)]
LoanId = Annotated[int, Path(ge=1, le=MAX_FEN)]


@router.post(
    "/{loan_id}/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentOut,
    responses={
        200: {"model": PaymentOut, "description": "同一流水号、同一数据的重复提交：返回首次登记的还款"},
        **error_response_doc(
            NotAuthenticated, PermissionDenied, LoanNotFound, PaymentConflict, Overpayment
        ),
    },
)
async def post_payment(
    loan_id: LoanId, body: PaymentIn, session: SessionDep, user: AdminUser, response: Response
) -> PaymentOut:
    recorded = await service.record_payment(
        session, loan_id=loan_id, actor=user_actor(user), **body.model_dump()
    )
    if not recorded.created:
        response.status_code = status.HTTP_200_OK
    return PaymentOut.from_recorded(recorded)
