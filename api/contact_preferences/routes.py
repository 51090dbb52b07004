"""Contact preferences: the action server reads and changes them for the verified
borrower of a conversation (mounted at /internal/v1); staff read them (mounted at
/api/v1/borrowers, admin and compliance)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.contact_preferences import service
from api.contact_preferences.errors import BorrowerNotFound
from api.contact_preferences.schemas import ContactPreferenceOut, ContactPreferenceUpdateIn
from api.core.deps import ConversationId, SessionDep, require_service_token
from api.core.errors import (
    ConversationNotFound,
    IdentityNotVerified,
    NotAuthenticated,
    error_response_doc,
)
from api.users.deps import require_roles
from api.users.errors import PermissionDenied
from api.users.models import Role

internal_router = APIRouter(dependencies=[Depends(require_service_token)])
staff_router = APIRouter(dependencies=[require_roles(Role.ADMIN, Role.COMPLIANCE)])

BorrowerId = Annotated[int, Path(ge=1, le=2_147_483_647)]
INTERNAL_ERRORS = error_response_doc(NotAuthenticated, IdentityNotVerified, ConversationNotFound)


@internal_router.get(
    "/conversations/{conversation_id}/contact-preferences",
    response_model=ContactPreferenceOut,
    responses=INTERNAL_ERRORS,
)
async def get_conversation_preferences(
    conversation_id: ConversationId, session: SessionDep
) -> ContactPreferenceOut:
    borrower_id = await service.verified_borrower_id(session, conversation_id=conversation_id)
    snapshot = await service.get_preferences(session, borrower_id=borrower_id)
    return ContactPreferenceOut.from_snapshot(snapshot)


@internal_router.patch(
    "/conversations/{conversation_id}/contact-preferences",
    response_model=ContactPreferenceOut,
    responses=INTERNAL_ERRORS,
)
async def patch_conversation_preferences(
    conversation_id: ConversationId, body: ContactPreferenceUpdateIn, session: SessionDep
) -> ContactPreferenceOut:
    borrower_id = await service.verified_borrower_id(session, conversation_id=conversation_id)
    snapshot = await service.update_preferences(
        session,
        borrower_id=borrower_id,
        update=body.to_update(),
        actor=f"borrower-session:{conversation_id}",
        context={"conversation_id": conversation_id, "via": "service:actions"},
    )
    return ContactPreferenceOut.from_snapshot(snapshot)


@staff_router.get(
    "/{borrower_id}/contact-preferences",
    response_model=ContactPreferenceOut,
    responses=error_response_doc(NotAuthenticated, PermissionDenied, BorrowerNotFound),
)
async def get_borrower_preferences(borrower_id: BorrowerId, session: SessionDep) -> ContactPreferenceOut:
    snapshot = await service.get_preferences(session, borrower_id=borrower_id)
    return ContactPreferenceOut.from_snapshot(snapshot)
