"""The app served by a real uvicorn on a free port, in the test's own event loop.

httpx's ASGITransport buffers a whole response, so an endless Server-Sent Events stream
can only be read over a real connection. Same loop as the test: the test can call the
app's services (and its in-process event bus) while a client holds the stream open.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import uvicorn
from fastapi import FastAPI

from api.core.config import Settings
from api.main import create_app
from tests.conftest import free_port


@dataclass
class LiveApp:
    app: FastAPI
    url: str


async def serve(settings: Settings) -> AsyncIterator[LiveApp]:
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
        timeout_graceful_shutdown=2,
    ))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            if task.done():
                task.result()  # raises the start-up error
            await asyncio.sleep(0.02)
    try:
        yield LiveApp(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await task


@dataclass
class SseEvent:
    event: str | None = None
    id: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)

    def json(self):
        return json.loads(self.data)


async def sse_events(response: httpx.Response) -> AsyncIterator[SseEvent]:
    """Parse text/event-stream into events; a comment-only block is an event too."""
    current, data = SseEvent(), []
    async for line in response.aiter_lines():
        if line == "":
            current.data = "\n".join(data)
            yield current
            current, data = SseEvent(), []
        elif line.startswith(":"):
            current.comments.append(line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            elif name in ("event", "id"):
                setattr(current, name, value)
