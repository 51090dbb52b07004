"""Public chat API (web channel) and the borrower chat page."""

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.core.deps import BearerToken, SessionDep, SessionmakerDep, SettingsDep
from api.core.errors import ConversationNotFound, NotAuthenticated, error_response_doc
from api.core.templates import render
from api.gateway import service
from api.gateway.schemas import (
    AssistantOut,
    BorrowerMessageIn,
    MessageOut,
    RepliesOut,
    SessionIn,
    SessionOut,
)

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
    responses=error_response_doc(NotAuthenticated, ConversationNotFound),
    tags=["chat"],
)
async def post_message(
    conversation_id: str,
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
    )
    return RepliesOut(messages=[_out(m) for m in replies], state=state)


@router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
async def chat_page() -> HTMLResponse:
    return HTMLResponse(CHAT_PAGE.read_text(encoding="utf-8"))
