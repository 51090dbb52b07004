"""The local fake WeChat server (tests/fakes/wechat_server.py) plus the template-message
endpoint reminders use outside the 48-hour window: POST /cgi-bin/message/template/send."""

import uvicorn
from fastapi import Request
from fastapi.responses import JSONResponse

from tests.fakes.wechat_server import FakeWeChatServer, build_app


class FakeWeChatWithTemplates(FakeWeChatServer):
    def __init__(self, *, app_id: str, app_secret: str) -> None:
        super().__init__(app_id=app_id, app_secret=app_secret)
        self.templates_sent: list[dict] = []
        app = build_app(self.state)

        @app.post("/cgi-bin/message/template/send")
        async def template_send(request: Request, access_token: str = ""):
            if access_token not in self.state.tokens:
                return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
            if self.state.fail_next_send_with is not None:
                code, self.state.fail_next_send_with = self.state.fail_next_send_with, None
                return JSONResponse({"errcode": code, "errmsg": "forced by test"})
            body = await request.json()
            if not body.get("touser") or not body.get("template_id") or not isinstance(body.get("data"), dict):
                return JSONResponse({"errcode": 47001, "errmsg": "data format error"})
            self.templates_sent.append(body)
            return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": len(self.templates_sent)})

        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        import threading

        self._thread = threading.Thread(target=self._server.run, daemon=True)
