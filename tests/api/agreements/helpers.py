"""Helpers for the quotes/agreements tests: urls, a verified chat, quotes, acceptance."""

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.agreements.models import Agreement, Quote
from api.core.db import utcnow
from api.loans.models import Borrower, Loan
from tests.conftest import open_chat

ZHANG = {"full_name": "张伟", "id_last4": "1234", "birth_date": "1990-03-07"}
LI = {"full_name": "李娜", "id_last4": "456X", "birth_date": "1985-11-23"}
ZHANG_TOTAL_DUE_FEN = 325_000


def conversation_url(conversation_id: str, suffix: str) -> str:
    return f"/internal/v1/conversations/{conversation_id}/{suffix}"


def quotes_url(conversation_id: str) -> str:
    return conversation_url(conversation_id, "quotes")


def counter_url(conversation_id: str) -> str:
    return conversation_url(conversation_id, "counter-offers")


def summary_url(conversation_id: str, quote_id: str) -> str:
    return conversation_url(conversation_id, f"quotes/{quote_id}/summary")


def accept_url(conversation_id: str, quote_id: str) -> str:
    return conversation_url(conversation_id, f"quotes/{quote_id}/accept")


async def verified_chat(client: httpx.AsyncClient, headers: dict, who: dict = ZHANG) -> str:
    """A chat whose borrower passed identity verification; returns the conversation id."""
    chat = await open_chat(client)
    response = await client.post(
        conversation_url(chat["conversation_id"], "identity-verification"),
        json=who,
        headers=headers,
    )
    assert response.status_code == 200 and response.json()["verified"], response.text
    return chat["conversation_id"]


async def create_quotes(
    client: httpx.AsyncClient, headers: dict, conversation_id: str, **body
) -> dict:
    response = await client.post(quotes_url(conversation_id), json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def quote_of_kind(
    client: httpx.AsyncClient, headers: dict, conversation_id: str, kind: str = "instalment"
) -> dict:
    body = await create_quotes(client, headers, conversation_id, kind=kind)
    return body["quotes"][0]


async def accept(
    client: httpx.AsyncClient,
    headers: dict,
    conversation_id: str,
    quote_id: str,
    *,
    key: str | None = None,
    consent_text: str = "确认",
    **extra,
) -> httpx.Response:
    return await client.post(
        accept_url(conversation_id, quote_id),
        json={"consent_text": consent_text, **extra},
        headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


async def set_quote(session: AsyncSession, quote_id: str, **values) -> None:
    """Rewrite a stored quote directly in the database, as someone with table access would."""
    await session.execute(update(Quote).where(Quote.id == quote_id).values(**values))
    await session.commit()


async def expire(session: AsyncSession, quote_id: str) -> None:
    await set_quote(session, quote_id, expires_at=utcnow() - timedelta(minutes=1))


async def loan_of(session: AsyncSession, full_name: str) -> Loan:
    return await session.scalar(
        select(Loan).join(Borrower).where(Borrower.full_name == full_name)
    )


async def set_loan(session: AsyncSession, full_name: str, **values) -> None:
    loan = await loan_of(session, full_name)
    await session.execute(update(Loan).where(Loan.id == loan.id).values(**values))
    await session.commit()


async def agreement_count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Agreement))
