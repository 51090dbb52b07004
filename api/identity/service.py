"""Identity verification before any disclosure (P4).

A failed check never says which field was wrong; repeated failures lock verification
for the conversation for a while.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import service as audit
from api.audit.models import AuditAction
from api.core.db import utcnow
from api.core.errors import ConversationNotFound, IdentityNotVerified, VerificationLocked
from api.gateway.models import Channel, Conversation
from api.loans.models import Borrower


@dataclass(frozen=True)
class VerificationOutcome:
    verified: bool
    attempts_left: int
    locked_until: datetime | None = None


async def _remember_wechat_account(
    session: AsyncSession, *, conversation: Conversation, borrower: Borrower
) -> None:
    """Bind the WeChat openid that just verified, so the next conversation from the same
    account starts verified. An openid already bound elsewhere is left alone for a human."""
    openid = conversation.external_user_id
    if conversation.channel != Channel.WECHAT or not openid or borrower.wechat_openid:
        return
    taken = await session.scalar(select(Borrower.id).where(Borrower.wechat_openid == openid))
    if taken is None:
        borrower.wechat_openid = openid


def _normalise_name(name: str) -> str:
    return "".join(name.split())


async def verify_identity(
    session: AsyncSession,
    *,
    conversation: Conversation,
    full_name: str,
    id_last4: str,
    birth_date: date,
    max_failures: int,
    lock_minutes: int,
) -> VerificationOutcome:
    now = utcnow()
    locked_until = conversation.verification_locked_until
    if locked_until is not None and locked_until > now:
        raise VerificationLocked()

    candidates = (
        await session.scalars(
            select(Borrower).where(
                Borrower.id_last4 == id_last4.upper(),
                Borrower.birth_date == birth_date,
            )
        )
    ).all()
    matches = [b for b in candidates if _normalise_name(b.full_name) == _normalise_name(full_name)]

    # Exactly one match verifies; an ambiguous match is treated like a failure so
    # that nothing about either borrower is disclosed.
    if len(matches) == 1:
        await _remember_wechat_account(session, conversation=conversation, borrower=matches[0])
        conversation.borrower_id = matches[0].id
        conversation.verified_at = now
        conversation.verification_failures = 0
        conversation.verification_locked_until = None
        await session.flush()
        return VerificationOutcome(verified=True, attempts_left=max_failures)

    conversation.verification_failures += 1
    if conversation.verification_failures >= max_failures:
        conversation.verification_failures = 0
        conversation.verification_locked_until = now + timedelta(minutes=lock_minutes)
        await session.flush()
        return VerificationOutcome(
            verified=False,
            attempts_left=0,
            locked_until=conversation.verification_locked_until,
        )
    await session.flush()
    return VerificationOutcome(
        verified=False, attempts_left=max_failures - conversation.verification_failures
    )


async def report_third_party(session: AsyncSession, *, conversation: Conversation) -> None:
    """Someone other than the borrower is speaking (P1, P2): from now on this conversation
    discloses nothing until the borrower verifies again. Audited, so a reviewer can see why
    the bot stopped disclosing."""
    was_verified = conversation.verified_at is not None
    conversation.verified_at = None
    await audit.append(
        session,
        actor="service:actions",
        action=AuditAction.THIRD_PARTY_REPORTED,
        subject=f"conversation:{conversation.id}",
        payload={"verification_revoked": was_verified},
    )


async def get_conversation(session: AsyncSession, *, conversation_id: str) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound()
    return conversation


async def verified_borrower(session: AsyncSession, *, conversation_id: str) -> Borrower:
    """The borrower a conversation verified as — the gate before any debt detail (P4)."""
    conversation = await get_conversation(session, conversation_id=conversation_id)
    if conversation.borrower_id is None or conversation.verified_at is None:
        raise IdentityNotVerified()
    return await session.get(Borrower, conversation.borrower_id)
