"""Audit chain routes for compliance. Mounted at /api/v1/audit."""

from fastapi import APIRouter

from api.audit import service
from api.audit.schemas import VerifyReportOut
from api.core.deps import SessionDep
from api.core.errors import NotAuthenticated, error_response_doc
from api.users.deps import require_roles
from api.users.errors import PermissionDenied
from api.users.models import Role

router = APIRouter(dependencies=[require_roles(Role.COMPLIANCE, Role.ADMIN)])


@router.get(
    "/verify",
    response_model=VerifyReportOut,
    responses=error_response_doc(NotAuthenticated, PermissionDenied),
)
async def verify_chain(session: SessionDep) -> VerifyReportOut:
    report = await service.verify(session)
    return VerifyReportOut.model_validate(report)
