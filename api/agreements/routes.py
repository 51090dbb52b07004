"""Quotes and agreements over HTTP.

`internal_router` (mounted at /internal/v1): for the action server, behind the service
token, keyed by the conversation whose verified borrower is asking (P4).
`staff_router` (mounted at /api/v1/agreements): admin and compliance read agreements.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response, status

from api.agreements import errors as e
from api.agreements.accept import accept_quote
from api.agreements.listing import list_agreements
from api.agreements.quotes import create_counter_quote, create_quotes, quote_summary
from api.agreements.schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    PG_INT_MAX,
    AcceptanceOut,
    AcceptRequest,
    AgreementOut,
    AgreementPageOut,
    CounterOfferOut,
    CounterOfferRequest,
    QuoteRequest,
    QuoteSetOut,
    QuoteSummaryOut,
)
from api.agreements.views import acceptance_out, counter_offer_out, quote_set_out, summary_out
from api.core.deps import UUID_PATTERN, ConversationId, SessionDep, SettingsDep, require_service_token
from api.core.errors import ConversationNotFound, IdentityNotVerified, NotAuthenticated
from api.offers.errors import PolicyNotFound
from api.users.deps import require_roles
from api.users.errors import PermissionDenied
from api.users.models import Role

internal_router = APIRouter(dependencies=[Depends(require_service_token)])
staff_router = APIRouter(dependencies=[require_roles(Role.ADMIN, Role.COMPLIANCE)])

QuoteId = Annotated[str, Path(pattern=UUID_PATTERN)]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN)]
_VERIFIED = (NotAuthenticated, ConversationNotFound, IdentityNotVerified)
_LOAN = (e.LoanNotFound, e.LoanNotSpecified, PolicyNotFound)


@internal_router.post(
    "/conversations/{conversation_id}/quotes",
    response_model=QuoteSetOut,
    status_code=status.HTTP_201_CREATED,
    responses=e.responses_for(*_VERIFIED, *_LOAN),
)
async def post_quotes(
    conversation_id: ConversationId, body: QuoteRequest, session: SessionDep, settings: SettingsDep
) -> QuoteSetOut:
    quote_set = await create_quotes(
        session, conversation_id=conversation_id, ttl_minutes=settings.quote_ttl_minutes,
        kind=body.kind, hardship_reason=body.hardship_reason, contract_no=body.contract_no,
        limitation_years=settings.limitation_years,
    )
    return quote_set_out(quote_set)


@internal_router.post(
    "/conversations/{conversation_id}/counter-offers",
    response_model=CounterOfferOut,
    status_code=status.HTTP_201_CREATED,
    responses=e.responses_for(*_VERIFIED, *_LOAN),
)
async def post_counter_offer(
    conversation_id: ConversationId,
    body: CounterOfferRequest,
    session: SessionDep,
    settings: SettingsDep,
) -> CounterOfferOut:
    answer = await create_counter_quote(
        session, conversation_id=conversation_id, ttl_minutes=settings.quote_ttl_minutes,
        monthly_affordable_fen=body.monthly_affordable_fen,
        amount_by_date_fen=body.amount_by_date_fen, pay_by_date=body.pay_by_date,
        contract_no=body.contract_no, limitation_years=settings.limitation_years,
    )
    return counter_offer_out(answer)


@internal_router.get(
    "/conversations/{conversation_id}/quotes/{quote_id}/summary",
    response_model=QuoteSummaryOut,
    responses=e.responses_for(
        *_VERIFIED, e.QuoteNotFound, e.QuoteTampered, e.QuoteWithdrawn, e.QuotePolicyChanged,
        e.QuoteStale, e.CollectionPausedForLoan, e.QuoteExpired,
    ),
)
async def get_quote_summary(
    conversation_id: ConversationId, quote_id: QuoteId, session: SessionDep
) -> QuoteSummaryOut:
    shown = await quote_summary(session, conversation_id=conversation_id, quote_id=quote_id)
    return summary_out(shown)


@internal_router.post(
    "/conversations/{conversation_id}/quotes/{quote_id}/accept",
    response_model=AcceptanceOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Idempotent replay: this key already accepted this quote"},
        **e.responses_for(
            *_VERIFIED, e.QuoteNotFound, e.QuoteTampered, e.QuoteAlreadyAccepted,
            e.QuoteWithdrawn, e.IdempotencyKeyReused, e.QuotePolicyChanged, e.QuoteStale,
            e.CollectionPausedForLoan, e.QuoteExpired, e.ConsentMessageInvalid,
        ),
    },
)
async def post_accept(
    conversation_id: ConversationId,
    quote_id: QuoteId,
    body: AcceptRequest,
    idempotency_key: IdempotencyKey,
    session: SessionDep,
    response: Response,
) -> AcceptanceOut:
    accepted = await accept_quote(
        session, conversation_id=conversation_id, quote_id=quote_id,
        idempotency_key=idempotency_key, consent_text=body.consent_text,
        consent_message_id=body.consent_message_id,
    )
    if accepted.replayed:
        response.status_code = status.HTTP_200_OK
    return acceptance_out(accepted)


@staff_router.get(
    "",
    response_model=AgreementPageOut,
    responses=e.responses_for(NotAuthenticated, PermissionDenied),
)
async def get_agreements(
    session: SessionDep,
    borrower_id: Annotated[int, Query(ge=1, le=PG_INT_MAX)],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> AgreementPageOut:
    found = await list_agreements(
        session, borrower_id=borrower_id, page=page, page_size=page_size
    )
    return AgreementPageOut(
        items=[AgreementOut.from_agreement(a) for a in found.items],
        total=found.total, page=found.page, page_size=found.page_size,
    )
