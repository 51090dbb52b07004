"""A local stand-in for WeChat's API servers (the outside world), speaking its protocol:
GET /cgi-bin/token and POST /cgi-bin/message/custom/send with WeChat's error codes."""

import secrets
import threading
import time
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.conftest import free_port


@dataclass
class FakeWeChatState:
    app_id: str
    app_secret: str
    tokens: set[str] = field(default_factory=set)
    token_requests: int = 0
    sent: list[dict] = field(default_factory=list)
    # Tests may make the next send fail with this errcode (e.g. 42001 token expired).
    fail_next_send_with: int | None = None


def build_app(state: FakeWeChatState) -> FastAPI:
    app = FastAPI()

    @app.get("/cgi-bin/token")
    async def token(grant_type: str = "", appid: str = "", secret: str = ""):
        state.token_requests += 1
        if grant_type != "client_credential" or appid != state.app_id or secret != state.app_secret:
            return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
        issued = secrets.token_hex(16)
        state.tokens = {issued}  # a new token invalidates the old ones, as on WeChat
        return JSONResponse({"access_token": issued, "expires_in": 7200})

    @app.post("/cgi-bin/message/custom/send")
    async def send(request: Request, access_token: str = ""):
        if access_token not in state.tokens:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
        if state.fail_next_send_with is not None:
            code, state.fail_next_send_with = state.fail_next_send_with, None
            if code in (40001, 42001):
                state.tokens.clear()
            return JSONResponse({"errcode": code, "errmsg": "forced by test"})
        body = await request.json()
        if body.get("msgtype") != "text" or not body.get("touser"):
            return JSONResponse({"errcode": 40008, "errmsg": "invalid message type"})
        state.sent.append(body)
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    return app


class FakeWeChatServer:
    def __init__(self, *, app_id: str, app_secret: str) -> None:
        self.state = FakeWeChatState(app_id=app_id, app_secret=app_secret)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(build_app(self.state), host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> "FakeWeChatServer":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake WeChat server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
