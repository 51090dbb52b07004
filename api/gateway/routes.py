"""Public chat API (web channel) and the borrower chat page."""

from collections.abc import AsyncIterable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent

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
from api.gateway.stream import KeepAlive, MessageEvent, StreamItem, follow_conversation
from api.gateway.transcript import read_transcript
from api.gateway.schemas import (
    AssistantOut,
    BorrowerMessageIn,
    MessageOut,
    RepliesOut,
    SessionIn,
    SessionOut,
    StreamMessageOut,
    StreamStateOut,
    TranscriptLineOut,
    TranscriptOut,
)
from api.users.deps import get_current_user
from api.users.errors import PermissionDenied
from api.users.models import Role

router = APIRouter()
# Message ids are 32-bit integers on PostgreSQL; a larger cursor is not a message id.
MAX_MESSAGE_ID = 2**31 - 1
CHAT_PAGE = Path(__file__).resolve().parent / "web" / "chat.html"


def _out(message) -> MessageOut:
    return MessageOut(id=message.id, sender=message.sender, text=message.text, at=message.created_at)


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
        events=request.app.state.events,
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


async def stream_owner(
    conversation_id: ConversationId, token: BearerToken, sessionmaker: SessionmakerDep
) -> str:
    """The conversation id, once its session token is checked (before the stream starts,
    so a bad token is a plain 401, an unknown conversation a 404)."""
    async with sessionmaker() as session:
        conversation = await service.authenticate_session(
            session, conversation_id=conversation_id, session_token=token
        )
    return conversation.id


def _sse(item: StreamItem) -> ServerSentEvent:
    if isinstance(item, KeepAlive):
        return ServerSentEvent(comment="keep-alive")
    if isinstance(item, MessageEvent):
        data = StreamMessageOut(id=item.id, sender=item.sender, text=item.text, at=item.at, state=item.state)
        return ServerSentEvent(event="message", id=str(item.id), data=data)
    return ServerSentEvent(event="state", data=StreamStateOut(state=item.state))


@router.get(
    "/api/v1/chat/sessions/{conversation_id}/stream",
    response_class=EventSourceResponse,
    responses=error_response_doc(NotAuthenticated, ConversationNotFound),
    tags=["chat"],
)
async def stream_messages(
    conversation_id: Annotated[str, Depends(stream_owner)],
    request: Request,
    settings: SettingsDep,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0, le=MAX_MESSAGE_ID)] = None,
    after: Annotated[
        int, Query(ge=0, le=MAX_MESSAGE_ID, description="Last message id seen (if no Last-Event-ID)")
    ] = 0,
    wait: Annotated[int | None, Query(ge=0, le=3600, description="Seconds to stay open")] = None,
) -> AsyncIterable[ServerSentEvent]:
    """Server-Sent Events: messages that arrive later (a collector's reply, system notices).

    Authenticated like the other chat routes (`Authorization: Bearer <session_token>`;
    read it with fetch(), so the token is never in a URL). Resumable: the
    `Last-Event-ID` header (or `after`) is the last message id the client has; every
    message with a larger id is sent first, then new ones as they are stored.

    - `event: message`, `id: <message id>`, data `{id, sender, text, at, state}` — every
      party's messages, the borrower's own included (other devices); de-duplicate by id.
    - `event: state`, data `{state}` — first on connect, then on every change
      (`bot`, `waiting_for_agent`, `agent`, `closed`).
    - A `: keep-alive` comment every CHAT_STREAM_KEEPALIVE_SECONDS (15 s).
    - The stream ends when the conversation is closed, or after `wait` seconds (default
      and cap CHAT_STREAM_MAX_SECONDS; `wait=0` sends what is there and ends): reconnect
      with the last id.
    """
    max_seconds = settings.chat_stream_max_seconds if wait is None else min(wait, settings.chat_stream_max_seconds)
    async for item in follow_conversation(
        request.app.state.sessionmaker, request.app.state.events, conversation_id=conversation_id,
        after=last_event_id if last_event_id is not None else after,
        keepalive_seconds=settings.chat_stream_keepalive_seconds, max_seconds=max_seconds,
    ):
        yield _sse(item)


@router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
async def chat_page() -> HTMLResponse:
    return HTMLResponse(CHAT_PAGE.read_text(encoding="utf-8"))
