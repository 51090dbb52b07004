"""Compliance workspace over HTTP (mounted at /api/v1/compliance) and its page (/compliance).

Compliance and admin only. Every read of a transcript, reveal and export is an audit
event, appended by the service in the request's transaction.
"""

import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Path as PathParam, Query
from fastapi.responses import HTMLResponse, Response

from api.compliance import dashboard as dash
from api.compliance import data_requests, flag_cache, outreach_log, pack, reviews, search, transcript
from api.compliance.errors import AgreementNotFound
from api.compliance.models import DataRequestStatus, Verdict
from api.compliance.schemas import (
    PG_INT_MAX,
    ComplianceTranscriptOut,
    DashboardOut,
    DataRequestIn,
    DataRequestOut,
    OutreachLogOut,
    RefreshOut,
    ResolutionOut,
    ResolveIn,
    RevealIn,
    ReviewIn,
    ReviewOut,
    SearchPageOut,
)
from api.compliance.views import dashboard_out, outreach_log_out, search_page_out, transcript_out
from api.core.deps import ConversationId, SessionDep
from api.core.errors import ConversationNotFound, InvalidCharacters, error_response_doc
from api.gateway.models import Channel, ReasonCode
from api.gateway.schemas import CONTROL_CHARACTERS
from api.outreach.models import OutreachKind, OutreachStatus
from api.users.deps import CurrentUser, require_roles
from api.users.models import Role

router = APIRouter(dependencies=[require_roles(Role.COMPLIANCE, Role.ADMIN)])
page_router = APIRouter()
PAGE = Path(__file__).resolve().parent / "web" / "compliance.html"
AgreementId = Annotated[int, PathParam(ge=1, le=PG_INT_MAX)]


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=timezone.utc) if day is not None else None


def _day_end(day: date | None) -> datetime | None:
    """Exclusive end of an inclusive last day (no bound for the last representable day)."""
    return _day_start(day + timedelta(days=1)) if day is not None and day < date.max else None


@router.get("/conversations", response_model=SearchPageOut, responses=error_response_doc(InvalidCharacters))
async def search_conversations(
    session: SessionDep,
    date_from: Annotated[date | None, Query(description="conversation started on/after (UTC)")] = None,
    date_to: Annotated[date | None, Query(description="conversation started on/before (UTC)")] = None,
    channel: Channel | None = None,
    borrower_id: Annotated[int | None, Query(ge=1, le=PG_INT_MAX)] = None,
    agreement_kind: Annotated[str | None, Query(max_length=32)] = None,
    escalation_reason: ReasonCode | None = None,
    rule_id: Annotated[str | None, Query(pattern=r"^[A-Z][0-9]{1,2}$")] = None,
    verdict: Verdict | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Chinese free text")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
):
    if any(v and CONTROL_CHARACTERS.search(v) for v in (q, agreement_kind)):
        raise InvalidCharacters()
    if rule_id:  # flags are a cache: bring changed conversations up to date first
        await flag_cache.refresh_stale(session)
    filters = search.SearchFilters(
        started_from=_day_start(date_from), started_to=_day_end(date_to), channel=channel,
        borrower_id=borrower_id, agreement_kind=agreement_kind, escalation_reason=escalation_reason,
        rule_id=rule_id, verdict=verdict, q=q,
    )
    return search_page_out(await search.search(session, filters=filters, page=page, page_size=page_size))


@router.get("/conversations/{conversation_id}", response_model=ComplianceTranscriptOut,
            responses=error_response_doc(ConversationNotFound))
async def read_transcript(conversation_id: ConversationId, session: SessionDep, user: CurrentUser):
    """Masked (PD2); the view is an audit event."""
    return transcript_out(await transcript.read(session, conversation_id=conversation_id, actor=f"user:{user.id}"))


@router.post("/conversations/{conversation_id}/reveal", response_model=ComplianceTranscriptOut,
             responses=error_response_doc(ConversationNotFound))
async def reveal_transcript(conversation_id: ConversationId, body: RevealIn, session: SessionDep, user: CurrentUser):
    """Unmasked ID, phone and card numbers: a separate audit event with the reason (PD2)."""
    return transcript_out(await transcript.read(
        session, conversation_id=conversation_id, actor=f"user:{user.id}", reveal=True, reason=body.reason))


@router.post("/conversations/{conversation_id}/reviews", response_model=ReviewOut, status_code=201,
             responses=error_response_doc(ConversationNotFound))
async def review_conversation(conversation_id: ConversationId, body: ReviewIn, session: SessionDep, user: CurrentUser):
    return await reviews.record_review(
        session, conversation_id=conversation_id, reviewer_id=user.id, verdict=body.verdict, comment=body.comment)


@router.post("/flags/refresh", response_model=RefreshOut)
async def refresh_flags(session: SessionDep, force: bool = False):
    """Recompute the flags of conversations that changed (all of them with force)."""
    return vars(await flag_cache.refresh_stale(session, force=force))


@router.get("/dashboard", response_model=DashboardOut)
async def dashboard(
    session: SessionDep,
    date_from: Annotated[date | None, Query(description="default: 12 weeks ago (UTC)")] = None,
    date_to: Annotated[date | None, Query(description="inclusive; default: today (UTC)")] = None,
):
    today = datetime.now(timezone.utc).date()
    since = _day_start(date_from or today - timedelta(weeks=12))
    until = _day_end(date_to or today) or datetime.max.replace(tzinfo=timezone.utc)
    return dashboard_out(await dash.dashboard(session, since=since, until=until))


@router.get("/outreach", response_model=OutreachLogOut)
async def list_outreach(
    session: SessionDep,
    borrower_id: Annotated[int | None, Query(ge=1, le=PG_INT_MAX)] = None,
    status: OutreachStatus | None = None,
    kind: OutreachKind | None = None,
    channel: Channel | None = None,
    rule_id: Annotated[str | None, Query(pattern=r"^[A-Z][0-9]{1,2}$",
                                         description="rule that held/blocked it, or a flag on the send")] = None,
    flagged: Annotated[bool | None, Query(description="only sends that broke a rule (or none)")] = None,
    date_from: Annotated[date | None, Query(description="sent (else due) on/after (UTC)")] = None,
    date_to: Annotated[date | None, Query(description="sent (else due) on/before (UTC)")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
):
    """The outreach log: sends, holds and blocks with their rule ids and flags (A1, A3)."""
    filters = outreach_log.LogFilters(
        borrower_id=borrower_id, status=status, kind=kind, channel=channel, rule_id=rule_id, flagged=flagged,
        since=_day_start(date_from), until=_day_end(date_to),
    )
    return outreach_log_out(await outreach_log.outreach_log(session, filters=filters, page=page, page_size=page_size))


@router.get("/agreements/{agreement_id}/evidence", response_class=Response,
            responses={200: {"content": {"application/json": {}}}, **error_response_doc(AgreementNotFound)})
async def evidence_pack(agreement_id: AgreementId, session: SessionDep, user: CurrentUser, reveal: bool = False):
    """The evidence pack (JSON, a download); verify with `python -m api.compliance.evidence verify`."""
    built = await pack.build_pack(session, agreement_id=agreement_id, actor=f"user:{user.id}", masked=not reveal)
    return Response(
        json.dumps(built, ensure_ascii=False, indent=1), media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="evidence-{built["agreement"]["agreement_no"]}.json"'},
    )


@router.get("/agreements/{agreement_id}/evidence.html", response_class=HTMLResponse,
            responses=error_response_doc(AgreementNotFound))
async def evidence_page(agreement_id: AgreementId, session: SessionDep, user: CurrentUser, reveal: bool = False):
    built = await pack.build_pack(session, agreement_id=agreement_id, actor=f"user:{user.id}", masked=not reveal)
    return HTMLResponse(pack.render_html(built))


@router.get("/data-requests", response_model=list[DataRequestOut])
async def list_data_requests(session: SessionDep, status: DataRequestStatus | None = None):
    """The latest 200 borrower data requests (PD3), newest first."""
    return await data_requests.list_requests(session, status=status)


@router.post("/data-requests", response_model=DataRequestOut, status_code=201,
             responses=error_response_doc(data_requests.BorrowerNotFound, ConversationNotFound))
async def open_data_request(body: DataRequestIn, session: SessionDep, user: CurrentUser):
    """Record a request a borrower made (in chat or otherwise); audited."""
    return await data_requests.open_request(
        session, borrower_id=body.borrower_id, kind=body.kind, conversation_id=body.conversation_id,
        note=body.note, actor=f"user:{user.id}")


@router.post("/data-requests/{request_id}/resolve", response_model=ResolutionOut,
             responses=error_response_doc(data_requests.DataRequestNotFound, data_requests.DataRequestClosed))
async def resolve_data_request(
    request_id: Annotated[int, PathParam(ge=1, le=PG_INT_MAX)], body: ResolveIn, session: SessionDep,
    user: CurrentUser,
):
    """Fulfil (export the borrower's transcripts) or reject; audited with the export's hash."""
    done = await data_requests.resolve(session, request_id=request_id, user_id=user.id, reject=body.reject,
                                       note=body.note)
    return ResolutionOut(request=DataRequestOut.model_validate(done.request), export=done.export)


@page_router.get("/compliance", response_class=HTMLResponse, include_in_schema=False)
async def compliance_page() -> HTMLResponse:
    return HTMLResponse(PAGE.read_text(encoding="utf-8"))
