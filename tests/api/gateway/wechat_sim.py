"""What WeChat's servers send to our callback URL, built with wechatpy's own signer and
crypto so the tests speak the real protocol."""

import re
import secrets
import time
from dataclasses import dataclass

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

TOKEN = "test-wechat-token"
APP_ID = "wx1234567890abcdef"
APP_SECRET = "test-wechat-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues
OFFICIAL_ACCOUNT = "gh_0123456789ab"


def signature(token: str, timestamp: str, nonce: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return signer.signature


def text_xml(openid: str, content: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{OFFICIAL_ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def image_xml(openid: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{OFFICIAL_ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[http://127.0.0.1/p.jpg]]></PicUrl><MediaId><![CDATA[m1]]></MediaId>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def subscribe_xml(openid: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{OFFICIAL_ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[subscribe]]></Event></xml>"
    )


@dataclass
class SignedPost:
    params: dict[str, str]
    body: bytes


def plaintext_post(xml: str, *, timestamp: int | None = None, token: str = TOKEN) -> SignedPost:
    ts, nonce = str(timestamp or int(time.time())), secrets.token_hex(6)
    return SignedPost(
        params={"signature": signature(token, ts, nonce), "timestamp": ts, "nonce": nonce},
        body=xml.encode("utf-8"),
    )


def encrypted_post(xml: str) -> SignedPost:
    ts, nonce = str(int(time.time())), secrets.token_hex(6)
    envelope = WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(xml, nonce, ts)
    msg_signature = re.search(r"<MsgSignature><!\[CDATA\[(\w+)\]\]>", envelope).group(1)
    encrypt = re.search(r"<Encrypt><!\[CDATA\[(.+?)\]\]>", envelope).group(1)
    body = f"<xml><ToUserName><![CDATA[{OFFICIAL_ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return SignedPost(
        params={
            "signature": signature(TOKEN, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": msg_signature,
        },
        body=body.encode("utf-8"),
    )


def reply_content(xml: str, *, encrypted_with: SignedPost | None = None) -> str:
    """The text of a passive reply, decrypting it as WeChat would in safe mode."""
    if encrypted_with is not None:
        p = encrypted_with.params
        envelope = xmltodict.parse(xml)["xml"]
        xml = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
            xml, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
        )
    return xmltodict.parse(xml)["xml"]["Content"]
