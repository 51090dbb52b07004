"""Public chat API (web channel) and the borrower chat page."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from api.core.deps import BearerToken, ConversationId, SessionDep, SessionmakerDep, SettingsDep
from api.core.errors import (
    ConversationNotFound,
    NotAuthenticated,
    TooManyMessages,
    error_response_doc,
)
from api.core.security import same_secret, token_hash
from api.core.templates import render
from api.gateway import service
from api.gateway.models import Conversation
from api.gateway.transcript import read_transcript
from api.gateway.schemas import (
    AssistantOut,
    BorrowerMessageIn,
    MessageOut,
    RepliesOut,
    SessionIn,
    SessionOut,
    TranscriptLineOut,
    TranscriptOut,
)
from api.users.deps import get_current_user
from api.users.errors import PermissionDenied
from api.users.models import Role

router = APIRouter()
CHAT_PAGE = Path(__file__).resolve().parent / "web" / "chat.html"


def _out(message) -> MessageOut:
    return MessageOut(sender=message.sender, text=message.text, at=message.created_at)


@router.post("/api/v1/chat/sessions", response_model=SessionOut, status_code=201, tags=["chat"])
async def create_session(body: SessionIn, session: SessionDep, settings: SettingsDep) -> SessionOut:
    opened = await service.open_session(session, channel=body.channel, settings=settings)
    return SessionOut(
        conversation_id=opened.conversation.id,
        session_token=opened.session_token,
        state=opened.conversation.state,
        assistant=AssistantOut(
            lender_name=settings.lender_legal_name,
            ai_label=render("ai_label"),
            hotline=settings.lender_hotline,
        ),
        messages=[_out(m) for m in opened.messages],
    )


@router.post(
    "/api/v1/chat/sessions/{conversation_id}/messages",
    response_model=RepliesOut,
    responses=error_response_doc(NotAuthenticated, ConversationNotFound, TooManyMessages),
    tags=["chat"],
)
async def post_message(
    conversation_id: ConversationId,
    body: BorrowerMessageIn,
    token: BearerToken,
    request: Request,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
) -> RepliesOut:
    replies, state = await service.receive_web_message(
        sessionmaker,
        conversation_id=conversation_id,
        session_token=token,
        text=body.text,
        rasa=request.app.state.rasa,
        settings=settings,
        limiter=request.app.state.chat_limiter,
    )
    return RepliesOut(messages=[_out(m) for m in replies], state=state)


async def transcript_reader(
    conversation_id: ConversationId, token: BearerToken, session: SessionDep, settings: SettingsDep
) -> tuple[Conversation, str | None]:
    """The conversation and, for staff, the audit actor. Its own session token reads it;
    otherwise only compliance and admin users may."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is not None and same_secret(token_hash(token), conversation.session_token_hash):
        return conversation, None
    user = await get_current_user(token, session, settings)
    if user.role not in (Role.COMPLIANCE, Role.ADMIN):
        raise PermissionDenied()
    if conversation is None:
        raise ConversationNotFound()
    return conversation, f"user:{user.id}"


@router.get(
    "/api/v1/conversations/{conversation_id}/transcript",
    response_model=TranscriptOut,
    responses=error_response_doc(NotAuthenticated, PermissionDenied, ConversationNotFound),
    tags=["chat"],
)
async def get_transcript(
    reader: Annotated[tuple[Conversation, str | None], Depends(transcript_reader)],
    session: SessionDep,
) -> TranscriptOut:
    conversation, staff_actor = reader
    transcript = await read_transcript(session, conversation=conversation, staff_actor=staff_actor)
    return TranscriptOut(
        conversation_id=conversation.id,
        channel=conversation.channel,
        state=conversation.state,
        timezone=transcript.timezone,
        ai_label=render("ai_label"),
        messages=[TranscriptLineOut(**vars(line)) for line in transcript.lines],
    )


@router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
async def chat_page() -> HTMLResponse:
    return HTMLResponse(CHAT_PAGE.read_text(encoding="utf-8"))
