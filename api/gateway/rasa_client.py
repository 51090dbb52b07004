"""The api's one client for Rasa's HTTP interface (REST channel)."""

from dataclasses import dataclass

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

    async def send(self, *, sender_id: str, text: str, metadata: dict | None = None) -> list[BotReply]:
        try:
            response = await self._http.post(
                "/webhooks/rest/webhook",
                json={"sender": sender_id, "message": text, "metadata": metadata or {}},
            )
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BotUnavailable(str(exc) or type(exc).__name__) from exc
        if not isinstance(body, list):
            raise BotUnavailable(f"unexpected Rasa reply: {body!r}")
        return [
            BotReply(text=item.get("text") or "", custom=item.get("custom"))
            for item in body
            if item.get("text") or item.get("custom")
        ]


def build_rasa_http(*, base_url: str, timeout_seconds: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=timeout_seconds)
