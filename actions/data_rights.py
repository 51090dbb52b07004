"""Personal-data rights asked for in chat (D2, PD3): the privacy notice, then a tracked
request through the api that compliance fulfils. Only for the verified borrower."""

import re

from actions.base import Events, Request, Turn
from actions.templates import say

# The borrower's words -> the PIPL right they are asking for (Arts. 44-47).
_KINDS = (
    ("deletion", re.compile(r"删除|删掉|删了|清除|注销")),
    ("correction", re.compile(r"更正|修改|改正|改一下|不对|错了")),
    ("copy", re.compile(r"复制|副本|拷贝|导出|发我一份|给我一份|下载")),
)
KIND_LABELS = {"access": "查阅", "copy": "复制", "correction": "更正", "deletion": "删除"}


def requested_kind(text: str) -> str:
    return next((kind for kind, pattern in _KINDS if pattern.search(text)), "access")


async def open_data_request(turn: Turn, request: Request) -> Events:
    kind = requested_kind(request.text)
    opened = await turn.client.open_data_request(
        turn.conversation_id, kind=kind, note=request.text[:200]
    )
    say(turn.dispatcher, "privacy_notice")
    say(turn.dispatcher, "data_request_opened", kind=KIND_LABELS[kind], request_id=opened["request_id"])
    return []
