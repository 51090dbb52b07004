"""The one httpx wrapper between the actions and the api's internal routes.

Every money figure the bot says comes through here from the api. Errors are sorted into
what the conversation can act on: NotVerified (ask for identity), VerificationLocked,
ApiRefused (the api said no, with a Chinese reason to pass on) and ApiUnavailable
(apologise, invent nothing, hand over to a person).
"""

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from api.core.request_id import HEADER as REQUEST_ID_HEADER, current_request_id
from actions.config import get_action_settings

log = logging.getLogger(__name__)


class ApiUnavailable(Exception):
    """The api could not be reached or answered with an unexpected error."""


class NotVerified(Exception):
    """The api refuses debt details: the conversation's identity is not verified (P4)."""


class VerificationLocked(Exception):
    """Too many failed identity checks; verification is locked for a while."""


class ApiRefused(Exception):
    """A business refusal (expired quote, paused collection…) with the api's own text."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class VerificationResult:
    verified: bool
    attempts_left: int
    locked: bool


class LoanApiClient:
    def __init__(self, http: httpx.AsyncClient, *, timeout_retries: int = 1) -> None:
        self._http = http
        self._timeout_retries = timeout_retries

    async def __aenter__(self) -> "LoanApiClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._http.aclose()

    async def _request(
        self, method: str, path: str, *, idempotent: bool = False, **kwargs: Any
    ) -> httpx.Response:
        # Connection failures are retried by the transport; a timeout is retried here
        # only for requests that cannot do anything twice.
        attempts = 1 + (self._timeout_retries if idempotent else 0)
        # The gateway's request id of this turn (actions/observability.py), so the api's
        # log lines for this call carry the same id as the borrower's message.
        request_id = current_request_id()
        if request_id:
            kwargs["headers"] = {**(kwargs.get("headers") or {}), REQUEST_ID_HEADER: request_id}
        for attempt in range(attempts):
            started = time.perf_counter()
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.TimeoutException as exc:
                log.warning("api %s %s timed out (attempt %d of %d)", method, path, attempt + 1, attempts)
                if attempt + 1 == attempts:
                    raise ApiUnavailable(f"{method} {path}: {exc!r}") from exc
                continue
            except httpx.HTTPError as exc:
                log.warning("api %s %s failed: %r", method, path, exc)
                raise ApiUnavailable(f"{method} {path}: {exc!r}") from exc
            log.info(
                "api %s %s %s", method, path, response.status_code,
                extra={"method": method, "path": path, "status": response.status_code,
                       "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
            )
            return response
        raise AssertionError("unreachable")

    @staticmethod
    def _body(response: httpx.Response, *ok: int) -> dict:
        if response.status_code in ok:
            return response.json()
        try:
            body = response.json()
        except ValueError:
            body = {}
        error = body.get("error") if isinstance(body, dict) else None
        if response.status_code == 403 and error == "IdentityNotVerified":
            raise NotVerified()
        if response.status_code == 423:
            raise VerificationLocked()
        if 400 <= response.status_code < 500 and error and isinstance(body.get("detail"), str):
            raise ApiRefused(error, body["detail"])
        raise ApiUnavailable(f"{response.request.url}: HTTP {response.status_code}")

    def _conversation(self, conversation_id: str) -> str:
        return f"/internal/v1/conversations/{conversation_id}"

    async def verify_identity(
        self, conversation_id: str, *, full_name: str, id_last4: str, birth_date: date
    ) -> VerificationResult:
        response = await self._request(
            "POST",
            f"{self._conversation(conversation_id)}/identity-verification",
            json={
                "full_name": full_name,
                "id_last4": id_last4,
                "birth_date": birth_date.isoformat(),
            },
        )
        body = self._body(response, 200)
        return VerificationResult(
            verified=body["verified"],
            attempts_left=body["attempts_left"],
            locked=body.get("locked_until") is not None,
        )

    async def amount_due(self, conversation_id: str) -> dict:
        response = await self._request(
            "GET", f"{self._conversation(conversation_id)}/amount-due", idempotent=True
        )
        return self._body(response, 200)

    async def quotes(
        self, conversation_id: str, *, kind: str | None = None, hardship_reason: str | None = None
    ) -> dict:
        body = {k: v for k, v in (("kind", kind), ("hardship_reason", hardship_reason)) if v}
        response = await self._request(
            "POST", f"{self._conversation(conversation_id)}/quotes", json=body
        )
        return self._body(response, 201)

    async def counter_offer(
        self,
        conversation_id: str,
        *,
        monthly_affordable_fen: int | None = None,
        amount_by_date_fen: int | None = None,
        pay_by_date: date | None = None,
    ) -> dict:
        if monthly_affordable_fen is not None:
            body: dict[str, Any] = {"monthly_affordable_fen": monthly_affordable_fen}
        else:
            body = {"amount_by_date_fen": amount_by_date_fen, "pay_by_date": pay_by_date.isoformat()}
        response = await self._request(
            "POST", f"{self._conversation(conversation_id)}/counter-offers", json=body
        )
        return self._body(response, 201)

    async def quote_summary(self, conversation_id: str, quote_id: str) -> dict:
        response = await self._request(
            "GET",
            f"{self._conversation(conversation_id)}/quotes/{quote_id}/summary",
            idempotent=True,
        )
        return self._body(response, 200)

    async def accept_quote(
        self,
        conversation_id: str,
        quote_id: str,
        *,
        idempotency_key: str,
        consent_text: str,
        consent_message_id: int | None = None,
    ) -> dict:
        # The Idempotency-Key makes a retried acceptance return the same agreement.
        response = await self._request(
            "POST",
            f"{self._conversation(conversation_id)}/quotes/{quote_id}/accept",
            idempotent=True,
            json={"consent_text": consent_text, "consent_message_id": consent_message_id},
            headers={"Idempotency-Key": idempotency_key},
        )
        return self._body(response, 200, 201)

    async def update_contact_preferences(self, conversation_id: str, **changes: Any) -> dict:
        response = await self._request(
            "PATCH",
            f"{self._conversation(conversation_id)}/contact-preferences",
            idempotent=True,
            json=changes,
        )
        return self._body(response, 200)

    async def open_data_request(self, conversation_id: str, *, kind: str, note: str) -> dict:
        response = await self._request(
            "POST",
            f"{self._conversation(conversation_id)}/data-requests",
            json={"kind": kind, "note": note},
        )
        return self._body(response, 201)

    async def report_third_party(self, conversation_id: str) -> None:
        response = await self._request(
            "POST", f"{self._conversation(conversation_id)}/third-party", idempotent=True
        )
        self._body(response, 200)


def default_client() -> LoanApiClient:
    """A client for one action run. A fresh httpx client per run keeps the action server
    stateless and free of event-loop-bound globals; the cost is one local connection."""
    settings = get_action_settings()
    return LoanApiClient(
        httpx.AsyncClient(
            base_url=settings.api_url,
            timeout=settings.api_timeout_seconds,
            headers={"Authorization": f"Bearer {settings.service_token.get_secret_value()}"},
            transport=httpx.AsyncHTTPTransport(retries=settings.api_connect_retries),
        ),
        timeout_retries=settings.api_timeout_retries,
    )
