"""The one httpx wrapper between the actions and the api's internal routes."""

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from actions.config import get_action_settings


class ApiUnavailable(Exception):
    """The api could not be reached or answered with an unexpected error."""


class NotVerified(Exception):
    """The api refuses debt details: the conversation's identity is not verified (P4)."""


class VerificationLocked(Exception):
    """Too many failed identity checks; verification is locked for a while."""


@dataclass(frozen=True)
class VerificationResult:
    verified: bool
    attempts_left: int
    locked: bool


class LoanApiClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def __aenter__(self) -> "LoanApiClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiUnavailable(f"{method} {path}: {exc!r}") from exc

    @staticmethod
    def _expect_ok(response: httpx.Response) -> dict:
        if response.status_code != 200:
            raise ApiUnavailable(f"{response.request.url}: HTTP {response.status_code}")
        return response.json()

    async def verify_identity(
        self, conversation_id: str, *, full_name: str, id_last4: str, birth_date: date
    ) -> VerificationResult:
        response = await self._request(
            "POST",
            f"/internal/v1/conversations/{conversation_id}/identity-verification",
            json={
                "full_name": full_name,
                "id_last4": id_last4,
                "birth_date": birth_date.isoformat(),
            },
        )
        if response.status_code == 423:
            raise VerificationLocked()
        body = self._expect_ok(response)
        return VerificationResult(
            verified=body["verified"],
            attempts_left=body["attempts_left"],
            locked=body.get("locked_until") is not None,
        )

    async def amount_due(self, conversation_id: str) -> dict:
        response = await self._request(
            "GET", f"/internal/v1/conversations/{conversation_id}/amount-due"
        )
        if response.status_code == 403:
            raise NotVerified()
        return self._expect_ok(response)


def default_client() -> LoanApiClient:
    """A client for one action run. A fresh httpx client per run keeps the action server
    stateless and free of event-loop-bound globals; the cost is one local connection."""
    settings = get_action_settings()
    return LoanApiClient(
        httpx.AsyncClient(
            base_url=settings.api_url,
            timeout=settings.api_timeout_seconds,
            headers={"Authorization": f"Bearer {settings.service_token.get_secret_value()}"},
        )
    )
