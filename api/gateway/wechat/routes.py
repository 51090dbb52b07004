"""WeChat Official Account callback URL (服务器配置 → URL): GET verifies, POST delivers."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response

from api.core.errors import error_response_doc
from api.gateway.wechat.protocol import (
    SignedQuery,
    WeChatMessageMalformed,
    WeChatRequestRejected,
    verify_signed_query,
)

router = APIRouter(tags=["wechat"])


def _query(
    signature: Annotated[str, Query(max_length=128)],
    timestamp: Annotated[str, Query(max_length=16)],
    nonce: Annotated[str, Query(max_length=64)],
    encrypt_type: Annotated[str | None, Query(max_length=16)] = None,
    msg_signature: Annotated[str | None, Query(max_length=128)] = None,
) -> SignedQuery:
    return SignedQuery(signature, timestamp, nonce, encrypt_type, msg_signature)


@router.get("/wechat", response_class=PlainTextResponse, responses=error_response_doc(WeChatRequestRejected))
async def verify_url(
    request: Request,
    signature: Annotated[str, Query(max_length=128)],
    timestamp: Annotated[str, Query(max_length=16)],
    nonce: Annotated[str, Query(max_length=64)],
    echostr: Annotated[str, Query(max_length=128)],
) -> str:
    verify_signed_query(request.app.state.settings, SignedQuery(signature, timestamp, nonce))
    return echostr


@router.post(
    "/wechat", responses=error_response_doc(WeChatRequestRejected, WeChatMessageMalformed)
)
async def receive(request: Request, query: Annotated[SignedQuery, Depends(_query)]) -> Response:
    reply = await request.app.state.wechat.handle(query, await request.body())
    if reply == "success":
        return PlainTextResponse(reply)
    return Response(reply, media_type="application/xml")
