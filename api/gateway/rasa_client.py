"""The api's one client for Rasa's HTTP interface: the REST channel for turns, and the
tracker events endpoint (Rasa runs with --enable-api --auth-token) to pause the bot
while a person has the conversation and to resume it on hand-back."""

import asyncio
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote

import httpx


# Stored as the template of bot messages while the model version is unknown (A1).
UNKNOWN_MODEL = "rasa"
# After a failed /status call, the next attempt waits this long (no extra call per turn
# while Rasa is struggling).
MODEL_VERSION_RETRY_SECONDS = 60.0
TEMPLATE_MAX = 64  # messages.template column


class BotUnavailable(Exception):
    """Rasa did not answer usably; the caller keeps the message and tells the borrower."""


@dataclass(frozen=True)
class BotReply:
    text: str
    custom: dict | None = None


class RasaClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
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

    async def _request_json(self, method: str, path: str, **kwargs):
        try:
            response = await self._http.request(method, path, **kwargs)
            response.raise_for_status()
            return response.json()
        except httpx.HTTPStatusError as exc:
            # Not str(exc): it quotes the URL, and with it the auth token.
            raise BotUnavailable(f"HTTP {exc.response.status_code} from Rasa") from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise BotUnavailable(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc


def _model_name(status: object) -> str | None:
    """"model-635de7b35b109ec6" from Rasa's /status ({"model_file": …, "model_id": …})."""
    if not isinstance(status, dict):
        return None
    model_file = status.get("model_file")
    if isinstance(model_file, str) and model_file.strip():
        return PurePosixPath(model_file.strip()).name.removesuffix(".tar.gz")
    model_id = status.get("model_id")
    return model_id.strip() if isinstance(model_id, str) and model_id.strip() else None


def build_rasa_http(*, base_url: str, timeout_seconds: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=timeout_seconds)
