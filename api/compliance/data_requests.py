"""Borrower personal-data requests (PD3; PIPL Arts. 44-47) as tracked requests.

`open_request` is the one entry for every path that receives one: the bot, when a
verified borrower asks in chat (POST /internal/v1/conversations/{id}/data-requests,
intent request_my_data), and compliance staff recording one made elsewhere
(POST /api/v1/compliance/data-requests). Fulfilling an access/copy request exports every transcript
of that borrower, unmasked (it is their own data), and records the export's hash.
"""

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.models import AuditAction
from api.audit.service import append, canonical_json, format_at
from api.compliance.models import DataRequest, DataRequestKind, DataRequestStatus
from api.core.db import utcnow
from api.core.errors import AppError, ConversationNotFound
from api.gateway.models import Conversation, Message
from api.loans.models import Borrower


class BorrowerNotFound(AppError):
    status_code = 404
    message = "借款人不存在"


class DataRequestNotFound(AppError):
    status_code = 404
    message = "数据请求不存在"


class DataRequestClosed(AppError):
    status_code = 409
    message = "该数据请求已处理"


@dataclass(frozen=True)
class Fulfilment:
    request: DataRequest
    export: dict


async def open_request(
    session: AsyncSession, *, borrower_id: int, kind: DataRequestKind, actor: str,
    conversation_id: str | None = None, note: str = "",
) -> DataRequest:
    if await session.get(Borrower, borrower_id) is None:
        raise BorrowerNotFound()
    if conversation_id is not None and await session.get(Conversation, conversation_id) is None:
        raise ConversationNotFound()
    request = DataRequest(borrower_id=borrower_id, conversation_id=conversation_id, kind=DataRequestKind(kind),
                          status=DataRequestStatus.OPEN, note=note, created_at=utcnow())
    session.add(request)
    await session.flush()
    await append(session, actor=actor, action=AuditAction.DATA_REQUEST_OPENED, subject=f"borrower:{borrower_id}",
                 payload={"request_id": request.id, "kind": str(request.kind), "conversation_id": conversation_id})
    return request


async def list_requests(session: AsyncSession, *, status: DataRequestStatus | None) -> list[DataRequest]:
    query = select(DataRequest).order_by(DataRequest.id.desc()).limit(200)
    if status is not None:
        query = query.where(DataRequest.status == status)
    return list((await session.scalars(query)).all())


async def borrower_transcripts(session: AsyncSession, borrower_id: int) -> list[dict]:
    conversations = (await session.scalars(select(Conversation).where(
        Conversation.borrower_id == borrower_id).order_by(Conversation.created_at))).all()
    out = []
    for c in conversations:
        messages = (await session.scalars(select(Message).where(
            Message.conversation_id == c.id).order_by(Message.id))).all()
        out.append({"conversation_id": c.id, "channel": str(c.channel), "started_at": format_at(c.created_at),
                    "messages": [{"sender": str(m.sender), "text": m.text, "at": format_at(m.created_at)}
                                 for m in messages]})
    return out


async def resolve(
    session: AsyncSession, *, request_id: int, user_id: int, reject: bool = False, note: str = ""
) -> Fulfilment:
    request = await session.get(DataRequest, request_id, with_for_update=True)
    if request is None:
        raise DataRequestNotFound()
    if request.status != DataRequestStatus.OPEN:
        raise DataRequestClosed()
    export = {}
    if not reject:
        export = {"borrower_id": request.borrower_id, "request_id": request.id, "generated_at": format_at(utcnow()),
                  "conversations": await borrower_transcripts(session, request.borrower_id)}
    request.status = DataRequestStatus.REJECTED if reject else DataRequestStatus.FULFILLED
    request.resolved_at, request.resolved_by = utcnow(), user_id
    if note:
        request.note = note
    await append(session, actor=f"user:{user_id}", action=AuditAction.DATA_REQUEST_RESOLVED,
                 subject=f"borrower:{request.borrower_id}",
                 payload={"request_id": request.id, "status": str(request.status), "note": note,
                          "export_sha256": hashlib.sha256(canonical_json(export).encode()).hexdigest() if export else None})
    return Fulfilment(request=request, export=export)
