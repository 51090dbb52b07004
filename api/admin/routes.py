"""Admin import of borrowers and loans. Mounted at /api/v1/admin; admin role only."""

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, status

from api.admin import service
from api.admin.errors import BorrowerExists, ContractNoTaken, InvalidBorrowerData
from api.admin.redaction import RedactedValidationRoute
from api.admin.schemas import BorrowerIn, BorrowerOut
from api.core.deps import SessionDep, SettingsDep
from api.core.errors import NotAuthenticated, error_response_doc
from api.users.deps import require_roles
from api.users.errors import PermissionDenied
from api.users.models import Role, User
from api.users.service import user_actor

router = APIRouter(route_class=RedactedValidationRoute)
AdminUser = Annotated[User, require_roles(Role.ADMIN)]


@router.post(
    "/borrowers",
    status_code=status.HTTP_201_CREATED,
    response_model=BorrowerOut,
    responses={
        **error_response_doc(NotAuthenticated, PermissionDenied, InvalidBorrowerData),
        409: {  # two errors share the status: error_response_doc would keep only one
            "description": "; ".join(
                f"{e.__name__}: {e.message}" for e in (BorrowerExists, ContractNoTaken)
            )
        },
    },
)
async def create_borrower(
    body: BorrowerIn, session: SessionDep, settings: SettingsDep, user: AdminUser
) -> BorrowerOut:
    borrower = await service.create_borrower(
        session,
        **body.model_dump(exclude={"loans"}),
        loans=[loan.to_new_loan() for loan in body.loans],
        id_hash_salt=settings.id_hash_salt.get_secret_value(),
        actor=user_actor(user),
        today=datetime.now(ZoneInfo(body.timezone)).date(),
    )
    return BorrowerOut.model_validate(borrower)
