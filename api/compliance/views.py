"""Service results → response models (kept out of the routes so they stay thin)."""

from api.compliance.dashboard import Dashboard
from api.compliance.schemas import (
    AgreementBriefOut,
    ComplianceTranscriptOut,
    ConversationOut,
    CountOut,
    DashboardOut,
    EscalationOut,
    EventOut,
    FlagOut,
    LineOut,
    OutreachEntryOut,
    OutreachLogOut,
    ReviewOut,
    SearchHitOut,
    SearchPageOut,
    WeekCountOut,
)
from api.compliance.outreach_log import LogEntry, LogPage
from api.compliance.search import SearchPage
from api.compliance.transcript import ComplianceTranscript


def search_page_out(page: SearchPage) -> SearchPageOut:
    return SearchPageOut(
        items=[
            SearchHitOut(
                conversation_id=h.conversation.id, channel=h.conversation.channel,
                state=h.conversation.state, borrower_id=h.conversation.borrower_id,
                created_at=h.conversation.created_at, last_message_at=h.last_message_at,
                message_count=h.message_count, agreement_kinds=h.agreement_kinds,
                escalation_reasons=h.escalation_reasons, rule_ids=h.rule_ids, verdict=h.verdict,
                snippet=h.snippet, snippet_message_id=h.snippet_message_id,
            )
            for h in page.items
        ],
        total=page.total, page=page.page, page_size=page.page_size, text_mode=page.text_mode,
    )


def transcript_out(t: ComplianceTranscript) -> ComplianceTranscriptOut:
    c = t.conversation
    return ComplianceTranscriptOut(
        conversation=ConversationOut(
            id=c.id, channel=c.channel, state=c.state, borrower_id=c.borrower_id,
            verified_at=c.verified_at, created_at=c.created_at, close_outcome=c.close_outcome,
        ),
        timezone=t.timezone, ai_label=t.ai_label, revealed=t.revealed,
        messages=[LineOut(**vars(line)) for line in t.lines],
        events=[EventOut(**vars(e)) for e in t.events],
        escalations=[EscalationOut.model_validate(e) for e in t.escalations],
        agreements=[AgreementBriefOut.model_validate(a) for a in t.agreements],
        flags=[FlagOut.model_validate(f) for f in t.flags],
        reviews=[ReviewOut.model_validate(r) for r in t.reviews],
    )


def dashboard_out(d: Dashboard) -> DashboardOut:
    return DashboardOut(
        since=d.since, until=d.until,
        agreements_by_kind=[CountOut(**vars(c)) for c in d.agreements_by_kind],
        escalations_by_reason=[CountOut(**vars(c)) for c in d.escalations_by_reason],
        flags_per_week=[WeekCountOut(**vars(w)) for w in d.flags_per_week],
        guard_blocks_per_week=[WeekCountOut(**vars(w)) for w in d.guard_blocks_per_week],
        verdicts=[CountOut(**vars(c)) for c in d.verdicts],
    )


def _outreach_entry_out(e: LogEntry) -> OutreachEntryOut:
    r = e.row
    return OutreachEntryOut(
        id=r.id, borrower_id=r.borrower_id, loan_id=r.loan_id, agreement_id=r.agreement_id,
        schedule_item_id=r.schedule_item_id, kind=r.kind, template_key=r.template_key, template=e.template,
        status=r.status, rule_id=r.rule_id, detail=r.detail, checked_rules=list(r.checked_rules or []),
        channel=r.channel, delivery=r.delivery, conversation_id=r.conversation_id, message_id=r.message_id,
        attempts=r.attempts, last_error=r.last_error, timezone=e.timezone,
        at=e.at, at_local=e.local(e.at), due_at=r.due_at, due_at_local=e.local(r.due_at),
        not_before=r.not_before, not_before_local=e.local(r.not_before),
        sent_at=r.sent_at, sent_at_local=e.local(r.sent_at), created_at=r.created_at, updated_at=r.updated_at,
        flags=[FlagOut.model_validate(f) for f in e.flags],
    )


def outreach_log_out(page: LogPage) -> OutreachLogOut:
    return OutreachLogOut(items=[_outreach_entry_out(e) for e in page.items], total=page.total,
                          page=page.page, page_size=page.page_size)
