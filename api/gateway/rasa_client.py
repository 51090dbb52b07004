"""The api's one client for Rasa's HTTP interface: the REST channel for turns, and the
tracker events endpoint (Rasa runs with --enable-api --auth-token) to pause the bot
while a person has the conversation and to resume it on hand-back.

Several Rasa instances (RASA_URLS, the scaled topology) share one tracker store (SQL) and
one lock store (Redis), so any instance can serve any turn of any conversation:

- Turns are spread round-robin over the instances; control calls (tracker events,
  /status) rotate on their own counter.
- A request that certainly never reached an instance — connection refused, connect
  timeout — goes to the next one, and the refusing instance is tried last for
  DOWN_SECONDS. All within the same whole-turn deadline.
- A request that may have reached Rasa is never re-sent elsewhere: a read timeout, a
  connection dropped after the request was written, an HTTP error. Rasa may already have
  processed the message (run its actions, written its tracker); sending it again would
  make the bot process the borrower's words twice — the Redis lock store serialises the
  two runs per conversation, it does not de-duplicate them. Such a turn ends as today:
  the apology and a handoff (bot_failure), the borrower's message kept.
"""

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote

import httpx

from api.core.metrics import RASA_REQUESTS


# Stored as the template of bot messages while the model version is unknown (A1).
UNKNOWN_MODEL = "rasa"
# After a failed /status call, the next attempt waits this long (no extra call per turn
# while Rasa is struggling).
MODEL_VERSION_RETRY_SECONDS = 60.0
TEMPLATE_MAX = 64  # messages.template column


# No connection could be opened, so the request never left this process: safe to send it
# to another instance. (Not PoolTimeout: this process's own pool is full, no instance is
# down, and the pool is shared by all of them.)
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
# An instance that refused a connection goes to the end of the order for this long.
DOWN_SECONDS = 5.0
# With several instances, a connect attempt gets at most this long, so a dead host
# (no refusal, just silence) leaves time in the turn's deadline for the next instance.
MULTI_INSTANCE_CONNECT_SECONDS = 1.0


class BotUnavailable(Exception):
    """Rasa did not answer usably; the caller keeps the message and tells the borrower."""


class RasaInstances:
    """The Rasa base URLs behind one api process, in round-robin order."""

    def __init__(self, urls: Sequence[str]) -> None:
        if not urls:
            raise ValueError("at least one Rasa URL is needed")
        self.urls = [u.rstrip("/") for u in urls]
        self._turns = itertools.count()
        self._control = itertools.count()
        self._down_until: dict[str, float] = {}
        self.failovers = 0  # requests moved to another instance after a refusal

    def order(self, *, turn: bool) -> list[str]:
        """Every instance, starting with the next in rotation; recently refusing ones last
        (still tried: when nothing else answers, they are the only hope)."""
        start = next(self._turns if turn else self._control) % len(self.urls)
        rotated = self.urls[start:] + self.urls[:start]
        now = time.monotonic()
        up = [u for u in rotated if self._down_until.get(u, 0.0) <= now]
        return up + [u for u in rotated if u not in up]

    def mark_down(self, url: str) -> None:
        self._down_until[url] = time.monotonic() + DOWN_SECONDS

    def mark_up(self, url: str) -> None:
        self._down_until.pop(url, None)

    def down(self) -> list[str]:
        now = time.monotonic()
        return [u for u in self.urls if self._down_until.get(u, 0.0) > now]


@dataclass(frozen=True)
class BotReply:
    text: str
    custom: dict | None = None


class RasaClient:
    def __init__(self, http: httpx.AsyncClient, *, urls: Sequence[str] | None = None) -> None:
        """`urls`: the Rasa instances (RASA_URLS); default: the client's base URL alone."""
        self._http = http
        self.instances = RasaInstances(list(urls) if urls else [str(http.base_url)])
        # httpx timeouts are per phase (connect, each read…), so a slowly trickling
        # answer could outlast them; this is the deadline for the whole turn.
        self._turn_deadline = http.timeout.read
        self._model_version: str | None = None
        self._model_version_retry_at = 0.0
        self._model_version_lock = asyncio.Lock()

    async def send(self, *, sender_id: str, text: str, metadata: dict | None = None) -> list[BotReply]:
        try:
            body = await asyncio.wait_for(
                self._post_json(
                    "/webhooks/rest/webhook",
                    json={"sender": sender_id, "message": text, "metadata": metadata or {}},
                    turn=True,
                ),
                timeout=self._turn_deadline,
            )
        except TimeoutError as exc:
            raise BotUnavailable(f"no answer within {self._turn_deadline} s") from exc
        if not isinstance(body, list):
            raise BotUnavailable(f"unexpected Rasa reply: {body!r}")
        return [
            BotReply(text=item.get("text") or "", custom=item.get("custom"))
            for item in body
            if isinstance(item, dict) and (item.get("text") or item.get("custom"))
        ]

    async def model_version(self, *, token: str, timeout: float) -> str:
        """"rasa:<model name>" of the model Rasa serves, for the transcript (A1).

        Asked once per api process (GET /status, with the auth token) and cached; while
        it cannot be read the answer is "rasa", and the next attempt waits a minute.
        """
        if self._model_version is not None:
            return self._model_version
        async with self._model_version_lock:
            if self._model_version is not None:
                return self._model_version
            if time.monotonic() < self._model_version_retry_at:
                return UNKNOWN_MODEL
            try:
                status = await asyncio.wait_for(self._get_json("/status", params={"token": token}), timeout)
                name = _model_name(status)
            except (TimeoutError, BotUnavailable):
                name = None
            if name is None:
                self._model_version_retry_at = time.monotonic() + MODEL_VERSION_RETRY_SECONDS
                return UNKNOWN_MODEL
            self._model_version = f"{UNKNOWN_MODEL}:{name}"[:TEMPLATE_MAX]
            return self._model_version

    async def pause(self, *, sender_id: str, token: str, timeout: float) -> None:
        """Append ConversationPaused: Rasa then ignores this sender's messages."""
        await self._append_event(sender_id, "pause", token=token, timeout=timeout)

    async def resume(self, *, sender_id: str, token: str, timeout: float) -> None:
        """Append ConversationResumed: the bot answers this sender again."""
        await self._append_event(sender_id, "resume", token=token, timeout=timeout)

    async def append_events(
        self, *, sender_id: str, events: list[dict], token: str, timeout: float
    ) -> None:
        """Append tracker events (e.g. a reminder the bot "said" and a slot), as given."""
        path = f"/conversations/{quote(sender_id, safe='')}/tracker/events"
        try:
            await asyncio.wait_for(
                self._post_json(path, params={"token": token, "include_events": "NONE"}, json=events),
                timeout=timeout,
            )
        except TimeoutError as exc:
            raise BotUnavailable(f"append events: no answer within {timeout} s") from exc
        except BotUnavailable as exc:
            raise BotUnavailable(f"append events: {exc}".replace(token, "***")) from exc

    async def _append_event(self, sender_id: str, event: str, *, token: str, timeout: float) -> None:
        path = f"/conversations/{quote(sender_id, safe='')}/tracker/events"
        try:
            await asyncio.wait_for(
                self._post_json(
                    path,
                    params={"token": token, "include_events": "NONE"},
                    json=[{"event": event}],
                ),
                timeout=timeout,
            )
        except TimeoutError as exc:
            raise BotUnavailable(f"{event}: no answer within {timeout} s") from exc
        except BotUnavailable as exc:
            raise BotUnavailable(f"{event}: {exc}".replace(token, "***")) from exc

    async def _post_json(self, path: str, **kwargs):
        return await self._request_json("POST", path, **kwargs)

    async def _get_json(self, path: str, **kwargs):
        return await self._request_json("GET", path, **kwargs)

    async def _request_json(self, method: str, path: str, *, turn: bool = False, **kwargs):
        """One request to the first instance that accepts the connection (module doc)."""
        refused: httpx.HTTPError | None = None
        operation = "turn" if turn else "control"
        for base in self.instances.order(turn=turn):
            if refused is not None:
                self.instances.failovers += 1
            try:
                response = await self._http.request(method, base + path, **kwargs)
            except NOT_SENT as exc:
                RASA_REQUESTS.labels(instance=base, operation=operation, outcome="refused").inc()
                self.instances.mark_down(base)
                refused = exc
                continue
            except httpx.HTTPError as exc:  # possibly sent: never re-sent elsewhere
                raise BotUnavailable(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
            RASA_REQUESTS.labels(instance=base, operation=operation, outcome="answered").inc()
            self.instances.mark_up(base)
            try:
                response.raise_for_status()
                return response.json()
            except httpx.HTTPStatusError as exc:
                # Not str(exc): it quotes the URL, and with it the auth token.
                raise BotUnavailable(f"HTTP {exc.response.status_code} from Rasa") from exc
            except ValueError as exc:
                raise BotUnavailable(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
        where = "any Rasa instance" if len(self.instances.urls) > 1 else "Rasa"
        raise BotUnavailable(
            f"{type(refused).__name__}: could not connect to {where}: {refused}".rstrip(": ")
        ) from refused


def _model_name(status: object) -> str | None:
    """"model-635de7b35b109ec6" from Rasa's /status ({"model_file": …, "model_id": …})."""
    if not isinstance(status, dict):
        return None
    model_file = status.get("model_file")
    if isinstance(model_file, str) and model_file.strip():
        return PurePosixPath(model_file.strip()).name.removesuffix(".tar.gz")
    model_id = status.get("model_id")
    return model_id.strip() if isinstance(model_id, str) and model_id.strip() else None


def build_rasa_http(*, base_url: str, timeout_seconds: float, instances: int = 1) -> httpx.AsyncClient:
    timeout = httpx.Timeout(timeout_seconds)
    if instances > 1:
        timeout = httpx.Timeout(
            timeout_seconds, connect=min(MULTI_INSTANCE_CONNECT_SECONDS, timeout_seconds)
        )
    return httpx.AsyncClient(base_url=base_url, timeout=timeout)
