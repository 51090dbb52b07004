"""The pre-send guard for collector drafts: the same rules as the bot's templates.

A draft is checked against api/guard with the *current* verification of the
conversation, so debt detail to someone unverified (P1, P4) is refused along with
prohibited language (L1, L2) and workplace/family threats (P3). There is no override:
a hard rule cannot be waived by a collector or an admin. Every refusal is an audit
event carrying the rules it broke and the draft (PII-masked), so compliance can review
guard hits (A3) without the draft ever reaching the borrower.
"""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.models import AuditAction
from api.audit.service import append
from api.core.metrics import GUARD_BLOCKS, count_on_commit
from api.core.pii import mask_pii
from api.guard import Violation, check_message

DRAFT_AUDIT_MAX = 1000


@dataclass(frozen=True)
class Verdict:
    violations: list[Violation]
    party_verified: bool

    @property
    def blocked(self) -> bool:
        return bool(self.violations)


async def screen_draft(
    session: AsyncSession, *, conversation_id: str, text: str, party_verified: bool, actor: str
) -> Verdict:
    """Check a draft; a blocked one is audited here (the caller must still commit)."""
    violations = check_message(text, party_verified=party_verified)
    verdict = Verdict(violations, party_verified)
    if verdict.blocked:
        await append(
            session, actor=actor, action=AuditAction.CONSOLE_MESSAGE_BLOCKED,
            subject=f"conversation:{conversation_id}",
            payload={
                "party_verified": party_verified,
                "violations": [
                    {"rule_id": v.rule_id, "category": v.category, "span": list(v.span)}
                    for v in violations
                ],
                "draft_masked": mask_pii(text)[:DRAFT_AUDIT_MAX],
            },
        )
        for rule_id in sorted({v.rule_id for v in violations}):
            count_on_commit(session, GUARD_BLOCKS.labels(rule_id=rule_id).inc)
    return verdict
