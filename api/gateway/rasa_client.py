"""The api's one client for Rasa's HTTP interface: the REST channel for turns, and the
tracker events endpoint (Rasa runs with --enable-api --auth-token) to pause the bot
while a person has the conversation and to resume it on hand-back."""

import asyncio
from dataclasses import dataclass
from urllib.parse import quote

import httpx


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
        try:
            response = await self._http.post(path, **kwargs)
            response.raise_for_status()
            return response.json()
        except httpx.HTTPStatusError as exc:
            # Not str(exc): it quotes the URL, and with it the auth token.
            raise BotUnavailable(f"HTTP {exc.response.status_code} from Rasa") from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise BotUnavailable(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc


def build_rasa_http(*, base_url: str, timeout_seconds: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=timeout_seconds)
