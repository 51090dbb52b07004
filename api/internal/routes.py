"""Internal API for the action server: facts and outcomes, behind the service token."""

from fastapi import APIRouter, Depends

from api.core.deps import ConversationId, SessionDep, SettingsDep, require_service_token
from api.core.errors import (
    ConversationNotFound,
    IdentityNotVerified,
    NotAuthenticated,
    VerificationLocked,
    error_response_doc,
)
from api.compliance.data_requests import open_request
from api.core.money import format_fen
from api.identity.service import (
    get_conversation,
    report_third_party,
    verified_borrower,
    verify_identity,
)
from api.internal.schemas import (
    AmountDueOut,
    DataRequestIn,
    DataRequestOut,
    IdentityClaim,
    IdentityVerificationOut,
    LoanDueOut,
    MoneyOut,
    ThirdPartyOut,
)
from api.loans.service import amount_due

router = APIRouter(dependencies=[Depends(require_service_token)])


def _money(fen: int) -> MoneyOut:
    return MoneyOut(fen=fen, display=format_fen(fen))


@router.post(
    "/conversations/{conversation_id}/identity-verification",
    response_model=IdentityVerificationOut,
    responses=error_response_doc(NotAuthenticated, ConversationNotFound, VerificationLocked),
)
async def post_identity_verification(
    conversation_id: ConversationId, claim: IdentityClaim, session: SessionDep, settings: SettingsDep
) -> IdentityVerificationOut:
    outcome = await verify_identity(
        session,
        conversation=await get_conversation(session, conversation_id=conversation_id),
        full_name=claim.full_name,
        id_last4=claim.id_last4,
        birth_date=claim.birth_date,
        max_failures=settings.verification_max_failures,
        lock_minutes=settings.verification_lock_minutes,
    )
    return IdentityVerificationOut(**vars(outcome))


@router.get(
    "/conversations/{conversation_id}/amount-due",
    response_model=AmountDueOut,
    responses=error_response_doc(NotAuthenticated, ConversationNotFound, IdentityNotVerified),
)
async def get_amount_due(conversation_id: ConversationId, session: SessionDep) -> AmountDueOut:
    borrower = await verified_borrower(session, conversation_id=conversation_id)
    due = await amount_due(session, borrower=borrower)
    return AmountDueOut(
        loans=[
            LoanDueOut(
                contract_no=d.loan.contract_no,
                product_name=d.loan.product_name,
                due_date=d.loan.due_date,
                days_past_due=d.days_past_due,
                principal=_money(d.loan.outstanding_principal_fen),
                interest=_money(d.loan.outstanding_interest_fen),
                penalty_interest=_money(d.loan.penalty_interest_fen),
                fees=_money(d.loan.fees_fen),
                total_due=_money(d.loan.total_due_fen),
            )
            for d in due.loans
        ],
        total_due=_money(due.total_due_fen),
        borrower_timezone=borrower.timezone,
    )


@router.post(
    "/conversations/{conversation_id}/data-requests",
    response_model=DataRequestOut,
    status_code=201,
    responses=error_response_doc(NotAuthenticated, ConversationNotFound, IdentityNotVerified),
)
async def post_data_request(
    conversation_id: ConversationId, body: DataRequestIn, session: SessionDep
) -> DataRequestOut:
    """A borrower's personal-data request made in chat (PD3) becomes a tracked request
    that compliance fulfils. Only for the verified borrower: their own data, nobody else's."""
    borrower = await verified_borrower(session, conversation_id=conversation_id)
    request = await open_request(
        session, borrower_id=borrower.id, kind=body.kind, actor="service:actions",
        conversation_id=conversation_id, note=body.note,
    )
    return DataRequestOut(request_id=request.id, kind=request.kind, status=request.status)


@router.post(
    "/conversations/{conversation_id}/third-party",
    response_model=ThirdPartyOut,
    responses=error_response_doc(NotAuthenticated, ConversationNotFound),
)
async def post_third_party(conversation_id: ConversationId, session: SessionDep) -> ThirdPartyOut:
    """The bot heard a colleague, relative or friend speaking (P1, P2): revoke disclosure."""
    conversation = await get_conversation(session, conversation_id=conversation_id)
    await report_third_party(session, conversation=conversation)
    return ThirdPartyOut(verified=False)
