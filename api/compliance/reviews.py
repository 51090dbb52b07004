"""Reviewer verdicts (A3): one row per review, each an audit event in the same transaction."""

from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.models import AuditAction
from api.audit.service import append
from api.compliance.models import Review, Verdict
from api.core.db import utcnow
from api.core.errors import ConversationNotFound
from api.gateway.models import Conversation


async def record_review(
    session: AsyncSession, *, conversation_id: str, reviewer_id: int, verdict: Verdict, comment: str
) -> Review:
    if await session.get(Conversation, conversation_id) is None:
        raise ConversationNotFound()
    review = Review(conversation_id=conversation_id, reviewer_id=reviewer_id,
                    verdict=Verdict(verdict), comment=comment, created_at=utcnow())
    session.add(review)
    await session.flush()
    await append(
        session, actor=f"user:{reviewer_id}", action=AuditAction.REVIEW_RECORDED,
        subject=f"conversation:{conversation_id}",
        # The comment is hashed into the chain with the verdict: a later edit is detectable.
        payload={"review_id": review.id, "verdict": str(review.verdict), "comment": comment},
    )
    return review
