"""WeChat Official Account message protocol, on top of wechatpy's signature and crypto.

Inbound: a signed GET for URL verification, signed POSTs carrying XML, in plaintext or in
safe mode (AES, msg_signature). Outbound: a passive XML reply to the same request.
"""

import time
from dataclasses import dataclass

from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from api.core.config import Settings
from api.core.errors import AppError


class WeChatRequestRejected(AppError):
    status_code = 403
    message = "签名无效或请求已过期"


class WeChatMessageMalformed(AppError):
    status_code = 400
    message = "消息格式无法解析"


@dataclass(frozen=True)
class SignedQuery:
    signature: str
    timestamp: str
    nonce: str
    encrypt_type: str | None = None
    msg_signature: str | None = None

    @property
    def encrypted(self) -> bool:
        return self.encrypt_type == "aes"


def verify_signed_query(settings: Settings, query: SignedQuery, *, now: float | None = None) -> None:
    """Signature from our token, and a timestamp fresh enough that a replay is refused."""
    try:
        check_signature(
            settings.wechat_token.get_secret_value(), query.signature, query.timestamp, query.nonce
        )
        sent_at = int(query.timestamp)
    except (InvalidSignatureException, ValueError):
        raise WeChatRequestRejected() from None
    now = time.time() if now is None else now
    if abs(now - sent_at) > settings.wechat_timestamp_tolerance_seconds:
        raise WeChatRequestRejected("请求时间戳已过期")


def _crypto(settings: Settings) -> WeChatCrypto:
    key = settings.wechat_encoding_aes_key.get_secret_value()
    if not key:
        raise WeChatRequestRejected("未启用安全模式")
    return WeChatCrypto(settings.wechat_token.get_secret_value(), key, settings.wechat_app_id)


def decode_body(settings: Settings, query: SignedQuery, body: bytes) -> str:
    """The message XML, decrypted in safe mode (checking msg_signature)."""
    try:
        xml = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WeChatMessageMalformed() from None
    if not query.encrypted:
        return xml
    try:
        return _crypto(settings).decrypt_message(
            xml, query.msg_signature, query.timestamp, query.nonce
        )
    except (InvalidSignatureException, ValueError, KeyError) as exc:
        raise WeChatRequestRejected() from exc


def parse(xml: str):
    """wechatpy's typed message (TextMessage, ImageMessage, SubscribeEvent, ...)."""
    try:
        return parse_message(xml)
    except Exception as exc:  # wechatpy raises assorted XML errors for garbage input
        raise WeChatMessageMalformed() from exc


def passive_reply(settings: Settings, query: SignedQuery, message, text: str) -> str:
    """A text reply XML to `message`, encrypted when the request was."""
    xml = create_reply(text, message=message, render=True)
    if not query.encrypted:
        return xml
    return _crypto(settings).encrypt_message(xml, query.nonce, query.timestamp)
