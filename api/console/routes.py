"""Collector console routes (/api/v1/console, collector and admin roles) and the page.

Routes stay thin: one service call each. Hints and the delivery of the bot's greeting or
the closing notice are background tasks, which run after the request's transaction has
committed (SessionDep commits before the response is sent), so a stream that wakes up
finds the change. A collector's own message is stored and delivered by
api/gateway/outbound.py in its own transaction, before the send is audited.

Two answers are returned rather than raised, so that their audit events commit with the
request: a lost claim (409 naming the holder) and a draft the guard refused (422 with
every rule it broke).
"""

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from api.agreements.schemas import PG_INT_MAX
from api.console import claims, delivery, notes, sending
from api.console.access import console_conversation
from api.console.errors import AlreadyClaimed, MessageBlocked, NotInConsole, NotYourConversation
from api.console.queue import list_queue
from api.console.schemas import (
    BlockedOut, ClaimConflictOut, ClaimOut, CloseIn, ConsoleMessageOut, ConsoleConversationOut, DraftIn,
    HolderOut, InvalidInputOut, NoteIn, NoteOut, NotesOut, QueueItemOut, QueueOut, SentOut, StateOut,
)
from api.console.stream import ConsoleFeed, console_events, notes_topic
from api.console.view import MessageView, conversation_view
from api.core.deps import UUID_PATTERN, ConversationId, SessionDep, SettingsDep
from api.core.errors import NotAuthenticated, error_response_doc
from api.gateway.errors import IllegalTransition, NoOpenEscalation, TrackerControlFailed
from api.gateway.escalation import pause_tracker
from api.gateway.outbound import deliver_agent_message
from api.users.deps import CurrentUser, require_roles
from api.users.errors import PermissionDenied
from api.users.models import Role

router = APIRouter(dependencies=[require_roles(Role.COLLECTOR, Role.ADMIN)])
page_router = APIRouter()
WEB_DIR = Path(__file__).resolve().parent / "web"
AUTH_ERRORS = (NotAuthenticated, PermissionDenied)


def _deliver(tasks: BackgroundTasks, request: Request, conversation_id: str, *,
             message_ids: list[int], queue_changed: bool) -> None:
    state = request.app.state
    tasks.add_task(
        delivery.after_commit, sessionmaker=state.sessionmaker, events=state.events, wechat=state.wechat,
        conversation_id=conversation_id, message_ids=message_ids, queue_changed=queue_changed,
    )


def _message_out(message, author_name: str | None = None) -> ConsoleMessageOut:
    return ConsoleMessageOut.of(MessageView(
        message.id, message.sender, message.text, message.created_at, message.template,
        message.status, author_name,
    ))


@router.get("/queue", response_model=QueueOut, responses=error_response_doc(*AUTH_ERRORS))
async def get_queue(session: SessionDep) -> QueueOut:
    return QueueOut(items=[QueueItemOut.of(e) for e in await list_queue(session)])


@router.get("/stream", include_in_schema=False)
async def get_stream(
    request: Request, user: CurrentUser, session: SessionDep,
    conversation_id: Annotated[str | None, Query(pattern=UUID_PATTERN)] = None,
    after: Annotated[int, Query(ge=0, le=PG_INT_MAX)] = 0,  # message ids are int4 on PostgreSQL
    once: bool = False,
) -> StreamingResponse:
    """SSE (text/event-stream); not in the OpenAPI schema, which cannot describe a stream."""
    if conversation_id is not None:
        await console_conversation(session, conversation_id)
    feed = ConsoleFeed(request.app.state.sessionmaker, conversation_id=conversation_id, after=after)
    return StreamingResponse(
        console_events(feed, request.app.state.events, actor=f"user:{user.id}", once=once,
                       is_disconnected=request.is_disconnected,
                       keepalive=request.app.state.settings.chat_stream_keepalive_seconds),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/conversations/{conversation_id}/claim", response_model=ClaimOut,
    responses={**error_response_doc(*AUTH_ERRORS, NotInConsole, NoOpenEscalation),
               409: {"model": ClaimConflictOut, "description": f"AlreadyClaimed: {AlreadyClaimed.message}"}},
)
async def post_claim(conversation_id: ConversationId, user: CurrentUser, session: SessionDep,
                     request: Request, tasks: BackgroundTasks, settings: SettingsDep):
    outcome = await claims.claim_conversation(session, conversation_id=conversation_id, user=user)
    if outcome.escalation is None:
        return JSONResponse(status_code=409, content=ClaimConflictOut.of(outcome).model_dump(mode="json"))
    escalation = outcome.escalation
    _deliver(tasks, request, conversation_id, message_ids=[], queue_changed=True)
    if escalation.tracker_paused_at is None:  # the pause at escalation failed: try again
        tasks.add_task(pause_tracker, request.app.state.sessionmaker, escalation_id=escalation.id,
                       conversation_id=conversation_id, rasa=request.app.state.rasa, settings=settings)
    return ClaimOut(conversation_id=conversation_id, escalation_id=escalation.id,
                    claimed_by=HolderOut(user_id=user.id, display_name=user.display_name),
                    claimed_at=escalation.claimed_at)


@router.get("/conversations/{conversation_id}", response_model=ConsoleConversationOut,
            responses=error_response_doc(*AUTH_ERRORS, NotInConsole))
async def get_conversation(
    conversation_id: ConversationId, user: CurrentUser, session: SessionDep
) -> ConsoleConversationOut:
    view = await conversation_view(session, conversation_id=conversation_id, user=user)
    return ConsoleConversationOut.of(view, user_id=user.id)


@router.post(
    "/conversations/{conversation_id}/messages", response_model=SentOut, status_code=201,
    responses={**error_response_doc(*AUTH_ERRORS, NotInConsole, NotYourConversation),
               422: {"model": BlockedOut | InvalidInputOut,
                     "description": f"MessageBlocked: {MessageBlocked.message}; or invalid input"}},
)
async def post_message(conversation_id: ConversationId, body: DraftIn, user: CurrentUser,
                       session: SessionDep, request: Request):
    state = request.app.state

    def deliver(text: str):  # api/gateway/outbound.py: stores, then delivers through the channel
        return deliver_agent_message(state.sessionmaker, conversation_id=conversation_id, text=text,
                                     user_id=user.id, app_state=state)

    outcome = await sending.send_as_collector(
        session, conversation_id=conversation_id, user=user, text=body.text, deliver=deliver
    )
    if outcome.message is None:  # answered, not raised: the block's audit event must commit
        return JSONResponse(status_code=422, content=BlockedOut.of(outcome.verdict).model_dump(mode="json"))
    return SentOut(message=_message_out(outcome.message, user.display_name))


@router.post(
    "/conversations/{conversation_id}/hand-back", response_model=StateOut,
    responses=error_response_doc(*AUTH_ERRORS, NotInConsole, NotYourConversation, IllegalTransition,
                                 TrackerControlFailed),
)
async def post_hand_back(conversation_id: ConversationId, user: CurrentUser, session: SessionDep,
                         request: Request, tasks: BackgroundTasks, settings: SettingsDep) -> StateOut:
    greeting = await claims.hand_back_conversation(
        session, conversation_id=conversation_id, user=user, rasa=request.app.state.rasa, settings=settings
    )
    _deliver(tasks, request, conversation_id, message_ids=[greeting.id], queue_changed=True)
    return StateOut(conversation_id=conversation_id, state="bot", message=_message_out(greeting))


@router.post(
    "/conversations/{conversation_id}/close", response_model=StateOut,
    responses=error_response_doc(*AUTH_ERRORS, NotInConsole, NotYourConversation, IllegalTransition),
)
async def post_close(conversation_id: ConversationId, body: CloseIn, user: CurrentUser, session: SessionDep,
                     request: Request, tasks: BackgroundTasks, settings: SettingsDep) -> StateOut:
    notice = await claims.close_conversation(
        session, conversation_id=conversation_id, user=user, outcome=body.outcome, settings=settings
    )
    _deliver(tasks, request, conversation_id, message_ids=[notice.id], queue_changed=True)
    return StateOut(conversation_id=conversation_id, state="closed", message=_message_out(notice))


@router.get("/conversations/{conversation_id}/notes", response_model=NotesOut,
            responses=error_response_doc(*AUTH_ERRORS, NotInConsole))
async def get_notes(conversation_id: ConversationId, session: SessionDep) -> NotesOut:
    await console_conversation(session, conversation_id)
    found = await notes.list_notes(session, conversation_id=conversation_id)
    return NotesOut(notes=[NoteOut.of(n) for n in found])


@router.post("/conversations/{conversation_id}/notes", response_model=NoteOut, status_code=201,
             responses=error_response_doc(*AUTH_ERRORS, NotInConsole))
async def post_note(conversation_id: ConversationId, body: NoteIn, user: CurrentUser, session: SessionDep,
                    request: Request, tasks: BackgroundTasks) -> NoteOut:
    note = await notes.add_note(session, conversation_id=conversation_id, user=user, text=body.text)
    tasks.add_task(request.app.state.events.publish, notes_topic(conversation_id), note_id=note.id)
    return NoteOut.of(note)


@page_router.get("/console", response_class=HTMLResponse, include_in_schema=False)
async def console_page() -> Response:
    return _asset("console.html", "text/html; charset=utf-8")


@page_router.get("/console/{asset}", include_in_schema=False)
async def console_asset(asset: Literal["console.js", "console.css"]) -> Response:
    """The page's script and style: fixed files, no data (everything shown comes from
    the authenticated routes above)."""
    kind = "text/javascript" if asset.endswith(".js") else "text/css"
    return _asset(asset, f"{kind}; charset=utf-8")


def _asset(name: str, media_type: str) -> Response:
    return Response((WEB_DIR / name).read_text(encoding="utf-8"), media_type=media_type,
                    headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                             "X-Content-Type-Options": "nosniff"})
