"""WeChat's server API as used here: an access token, and customer-service messages
(客服消息) for replies that were not ready within the passive-reply window."""

import asyncio
import json
import time

import httpx

# Token expired / invalid: fetch a new one and retry once.
_TOKEN_ERRORS = {40001, 40014, 42001}
# Refresh this long before WeChat says the token expires.
_TOKEN_MARGIN_SECONDS = 300


class WeChatApiError(Exception):
    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class WeChatApiClient:
    def __init__(self, http: httpx.AsyncClient, *, app_id: str, app_secret: str) -> None:
        self._http = http
        self._app_id = app_id
        self._app_secret = app_secret
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._lock = asyncio.Lock()

    async def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = await self._http.request(method, path, **kwargs)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise WeChatApiError(None, f"{type(exc).__name__}: {exc}") from exc
        if body.get("errcode", 0) != 0:
            raise WeChatApiError(body.get("errcode"), body.get("errmsg", ""))
        return body

    async def access_token(self, *, refresh: bool = False) -> str:
        # One fetch at a time: WeChat invalidates older tokens when a new one is issued.
        async with self._lock:
            if refresh or self._token is None or time.monotonic() >= self._token_expires_at:
                body = await self._call(
                    "GET",
                    "/cgi-bin/token",
                    params={
                        "grant_type": "client_credential",
                        "appid": self._app_id,
                        "secret": self._app_secret,
                    },
                )
                self._token = body["access_token"]
                lifetime = int(body.get("expires_in", 7200)) - _TOKEN_MARGIN_SECONDS
                self._token_expires_at = time.monotonic() + max(lifetime, 60)
            return self._token

    async def send_text(self, openid: str, text: str) -> None:
        """客服消息: free text, only inside the 48-hour window after the user wrote."""
        await self._post_with_token(
            "/cgi-bin/message/custom/send",
            {"touser": openid, "msgtype": "text", "text": {"content": text}},
        )

    async def send_template(self, openid: str, *, template_id: str, fields: dict[str, str]) -> None:
        """模板消息: a template the lender registered with WeChat; the field names are the
        template's own. Allowed outside the 48-hour window."""
        await self._post_with_token(
            "/cgi-bin/message/template/send",
            {
                "touser": openid,
                "template_id": template_id,
                "data": {name: {"value": value} for name, value in fields.items()},
            },
        )

    async def _post_with_token(self, path: str, payload: dict) -> None:
        """POST with the access token; a token WeChat calls stale is refreshed once."""
        for attempt in range(2):
            token = await self.access_token(refresh=attempt > 0)
            try:
                await self._call(
                    "POST", path,
                    params={"access_token": token},
                    # WeChat wants UTF-8 JSON with the Chinese as is, not \\u escapes.
                    content=_json_utf8(payload),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
                return
            except WeChatApiError as exc:
                if exc.errcode not in _TOKEN_ERRORS or attempt == 1:
                    raise


def _json_utf8(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def build_wechat_http(settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=settings.wechat_api_base_url, timeout=5.0)
