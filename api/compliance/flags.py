"""Automatic compliance flags: one module computes every rule over one conversation.

`evaluate(facts)` is pure (no database): the facts of a conversation in, a list of
`Flag`s out, each with its rule_id from ../shared/COMPLIANCE.md. `flag_cache.py` loads
the facts and stores the results, so search and the dashboard read flags from a table
while a rule change can recompute history.

Rules:
- D1  the first message the borrower received lacks the opening disclosure markers.
- P4  a bot or collector message with debt detail (amount, overdue days, due date,
      contract number) before the conversation was verified.
- L1 (and the guard's other ids: L2, L3, P3…)  a bot or collector message the pre-send
      language guard (api/guard) would refuse; the flag carries the guard's own rule_id.
- D3  an agreement without an explicit borrower consent message ("确认") in the chat.
- E1-E6  a borrower message matching an escalation trigger, not followed on the next
      turn by a handoff (an escalation row or a `custom.handoff` payload), or followed by
      a bot message that mentions an amount.
- T4  an outbound message after the borrower opted out of the channel (or stop-all) that
      does not answer something the borrower wrote since (the opt-out confirmation does).
- Proactive messages (payload `proactive: true`: outreach reminders) are judged by
  api/compliance/outreach_flags.py with the outreach settings, in the intended
  borrower's time zone: O5 (lender pause), P1 (not the borrower's own channel), T4
  (opted out / stop-all), T1 (outside the allowed local hours), T2 (quiet hours), T3
  (frequency caps across all channels).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path

import yaml

from api.agreements.models import Agreement
from api.compliance.outreach_flags import BorrowerOutreach, OutreachRules, ProactiveSend, judge_sends
from api.gateway import tripwire
from api.gateway.models import Conversation, Escalation, Message, Sender
from api.gateway.transcript import DEFAULT_TIMEZONE
from api.guard.language import check_message

RULES_PATH = Path(__file__).resolve().parent / "flags.zh.yml"
OUTBOUND = (Sender.BOT, Sender.AGENT)
DETAIL_MAX = 500


@dataclass(frozen=True)
class Flag:
    rule_id: str
    detail: str
    message_id: int | None
    occurred_at: datetime


@dataclass(frozen=True)
class OptOut:
    """The borrower's channel preferences (and quiet hours, T2) as of `at` (from
    preference.changed events)."""

    at: datetime
    channels: frozenset[str]
    stop_all: bool
    quiet_start: time | None = None
    quiet_end: time | None = None


@dataclass
class Facts:
    conversation: Conversation
    messages: Sequence[Message]
    escalations: Sequence[Escalation] = ()
    agreements: Sequence[Agreement] = ()
    opt_outs: Sequence[OptOut] = ()
    timezone: str = DEFAULT_TIMEZONE
    # Proactive messages in this conversation, with what the outreach rules need (loaded
    # by flag_cache); empty: derived from the messages whose payload says proactive.
    sends: Sequence[ProactiveSend] = ()
    # The intended borrowers' facts beyond this conversation (all their sends for T3,
    # preferences, pause changes); a borrower missing here is judged on this conversation.
    outreach: dict[int | None, BorrowerOutreach] = field(default_factory=dict)
    outreach_rules: OutreachRules = field(default_factory=OutreachRules)


@dataclass(frozen=True)
class _Rules:
    d1_required: dict[str, re.Pattern[str]]
    p4: re.Pattern[str]
    p4_exempt: frozenset[str]
    consent_words: frozenset[str]
    triggers: dict[str, tuple[str, ...]]


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    with open(RULES_PATH, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    return _Rules(
        d1_required={k: re.compile(v) for k, v in raw["d1_required"].items()},
        p4=re.compile("|".join(f"(?:{p})" for p in raw["p4_debt_detail"])),
        p4_exempt=frozenset(raw["p4_exempt_templates"]),
        consent_words=frozenset(raw["d3_consent_words"]),
        triggers={k: tuple(_norm(p) for p in v) for k, v in raw["escalation_triggers"].items()},
    )


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _flag(rule_id: str, detail: str, message: Message | None, fallback: datetime) -> Flag:
    return Flag(
        rule_id=rule_id,
        detail=detail[:DETAIL_MAX],
        message_id=message.id if message is not None else None,
        occurred_at=message.created_at if message is not None else fallback,
    )


def evaluate(facts: Facts) -> list[Flag]:
    """Every flag of one conversation, in rule order then message order."""
    rules = _rules()
    return [
        *_d1(facts, rules),
        *_p4(facts, rules),
        *_language(facts),
        *_d3(facts, rules),
        *_escalation(facts, rules),
        *_t4(facts),
        *_outreach(facts),
    ]


def _d1(facts: Facts, rules: _Rules) -> list[Flag]:
    first = next((m for m in facts.messages if m.sender != Sender.BORROWER), None)
    started = facts.conversation.created_at
    if first is None:
        return []
    text = _norm(first.text)
    missing = [name for name, pattern in rules.d1_required.items() if not pattern.search(text)]
    if not missing:
        return []
    return [_flag("D1", f"首条消息缺少开场披露要素：{', '.join(missing)}", first, started)]


def _p4(facts: Facts, rules: _Rules) -> list[Flag]:
    verified_at = facts.conversation.verified_at
    found = []
    for m in facts.messages:
        if m.sender not in OUTBOUND or m.template in rules.p4_exempt:
            continue
        if verified_at is not None and m.created_at >= verified_at:
            continue
        hit = rules.p4.search(_norm(m.text))
        if hit:
            found.append(_flag("P4", f"身份核验前透露欠款细节：「{hit.group(0)}」", m, m.created_at))
    return found


def _language(facts: Facts) -> list[Flag]:
    found = []
    for m in facts.messages:
        if m.sender not in OUTBOUND or not m.text:
            continue
        for v in check_message(m.text):
            who = "机器人" if m.sender == Sender.BOT else "催收员"
            found.append(_flag(v.rule_id, f"{who}消息含禁止内容（{v.category}）：「{v.matched}」", m, m.created_at))
    return found


def _d3(facts: Facts, rules: _Rules) -> list[Flag]:
    by_id = {m.id: m for m in facts.messages}
    found = []
    for agreement in facts.agreements:
        consent = by_id.get(agreement.consent_message_id) if agreement.consent_message_id else None
        if consent is None:
            consent = next(
                (m for m in reversed(facts.messages)
                 if m.sender == Sender.BORROWER and m.created_at <= agreement.created_at
                 and m.text.strip() in rules.consent_words),
                None,
            )
        ok = (
            consent is not None
            and consent.sender == Sender.BORROWER
            and consent.text.strip() in rules.consent_words
            and consent.created_at <= agreement.created_at
            and agreement.consent_text in rules.consent_words
        )
        if not ok:
            found.append(Flag(
                "D3", f"协议 {agreement.id} 没有借款人明确的「确认」消息", consent.id if consent else None,
                agreement.created_at,
            ))
    return found


def _trigger(text: str, rules: _Rules) -> tuple[str, str] | None:
    phrase = tripwire.match(text)
    if phrase:
        return "E3", phrase
    normalised = _norm(text)
    for rule_id, phrases in rules.triggers.items():
        for p in phrases:
            if p in normalised:
                return rule_id, p
    return None


def _escalation(facts: Facts, rules: _Rules) -> list[Flag]:
    messages = facts.messages
    found = []
    for index, m in enumerate(messages):
        if m.sender != Sender.BORROWER:
            continue
        trigger = _trigger(m.text, rules)
        if trigger is None:
            continue
        rule_id, phrase = trigger
        turn, next_borrower = _turn_after(messages, index)
        if not turn or _person_already(facts.escalations, m.created_at):
            continue
        until = next_borrower.created_at if next_borrower else None
        handed_off = any(_is_handoff(r) for r in turn) or any(
            e.created_at >= m.created_at and (until is None or e.created_at < until)
            for e in facts.escalations
        )
        if not handed_off:
            found.append(_flag(rule_id, f"借款人提到「{phrase}」，下一轮没有转人工", m, m.created_at))
            continue
        money = next((r for r in turn if r.sender == Sender.BOT and rules.p4.search(_norm(r.text))), None)
        if money is not None:
            found.append(_flag(rule_id, f"借款人提到「{phrase}」后，机器人仍提及金额", money, money.created_at))
    return found


def _turn_after(messages: Sequence[Message], index: int) -> tuple[list[Message], Message | None]:
    turn: list[Message] = []
    for m in messages[index + 1:]:
        if m.sender == Sender.BORROWER:
            return turn, m
        turn.append(m)
    return turn, None


def _person_already(escalations: Iterable[Escalation], at: datetime) -> bool:
    """An escalation was open when the borrower wrote: a person has the conversation."""
    return any(e.created_at < at and (e.resolved_at is None or e.resolved_at > at) for e in escalations)


def _is_handoff(message: Message) -> bool:
    custom = (message.payload or {}).get("custom")
    return isinstance(custom, dict) and isinstance(custom.get("handoff"), dict)


def _t4(facts: Facts) -> list[Flag]:
    if not facts.opt_outs:
        return []
    channel = str(facts.conversation.channel)
    found = []
    for m in facts.messages:
        if m.sender not in OUTBOUND or _proactive(m):  # proactive ones: _outreach
            continue
        state = next((o for o in reversed(facts.opt_outs) if o.at <= m.created_at), None)
        if state is None or not (state.stop_all or channel in state.channels):
            continue
        if not _answers_since(facts.messages, m, state.at):
            found.append(_flag("T4", f"借款人已退订（{'全部' if state.stop_all else channel}）后仍主动联系", m, m.created_at))
    return found


def _answers_since(messages: Sequence[Message], outbound: Message, opted_out_at: datetime) -> bool:
    """May `outbound` be sent although the channel is off? Yes when the borrower wrote
    after the opt-out, or when it belongs to the turn in which the opt-out was made (the
    one confirmation T4 allows): the borrower's last message before the opt-out had not
    been answered yet when the opt-out was recorded."""
    if any(b.sender == Sender.BORROWER and opted_out_at < b.created_at <= outbound.created_at for b in messages):
        return True
    before = [b for b in messages if b.sender == Sender.BORROWER and b.created_at <= opted_out_at]
    if not before:
        return False
    asked = before[-1].created_at
    return not any(
        m.sender in OUTBOUND and asked < m.created_at <= opted_out_at for m in messages
    )


def _proactive(m: Message) -> bool:
    return m.sender == Sender.BOT and bool((m.payload or {}).get("proactive"))


def _outreach(facts: Facts) -> list[Flag]:
    owner = facts.conversation.borrower_id
    sends = list(facts.sends) or [
        ProactiveSend(at=m.created_at, message_id=m.id, outreach_id=(m.payload or {}).get("outreach_id"),
                      borrower_id=owner, channel=str(facts.conversation.channel))
        for m in facts.messages if _proactive(m)
    ]
    if not sends:
        return []
    borrowers = dict(facts.outreach)
    for borrower_id in {s.borrower_id for s in sends} - borrowers.keys():
        borrowers[borrower_id] = BorrowerOutreach(
            timezone=facts.timezone, sends=[s for s in sends if s.borrower_id == borrower_id],
            preferences=facts.opt_outs if borrower_id == owner else (),
        )
    return [
        Flag(f.rule_id, f.detail[:DETAIL_MAX], f.send.message_id, f.send.at)
        for f in judge_sends(sends, borrowers=borrowers, rules=facts.outreach_rules)
    ]
