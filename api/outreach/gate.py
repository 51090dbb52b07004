"""The one contact-rules gate every proactive reminder passes (T1-T5, P3, O5, E1-E6).

Pure: a snapshot of the facts and a clock in, a verdict out; no database, no "now" of
its own. The worker builds the snapshot inside the transaction that sends, so the
verdict rests on what is true at send time.

Rules that forbid a contact outright are checked first and BLOCK (the reminder is not
sent, ever; its rule_id is stored):

    O5  the lender paused collection on the loan (breathing space)
    P3  the reminder would not go to the borrower's own, verified channel
        (reminders never go to an employer, colleague, relative or any third party)
    T4  stop-all, or the channel is switched off
    E*  a person is handling the borrower (open escalation: dispute, distress, lawyer,
        bereavement, review, or a request for a person) — no automated collection
    T5  a plan is being kept: only the reminders agreed with it (configured kinds, for
        the plan's own instalments)

Then the timing rules, which HOLD (never drop) until the earliest moment all of them
allow, found as a fixed point, so one evaluation gives the real send time:

    T1  allowed hours in the borrower's own time zone (default 08:00-21:00)
    T2  the borrower's stated quiet hours (api/contact_preferences/rules.py)
    T3  caps on proactive messages across all channels: per local day, per rolling window

A borrower whose quiet hours leave no allowed time at all is blocked (T2) rather than
held forever.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from zoneinfo import ZoneInfo

from api.core.config import Settings
from api.contact_preferences.rules import (
    ContactChannel,
    ContactPurpose,
    Preferences,
    RuleId,
    contact_allowed,
    in_quiet_hours,
)

# Escalation reasons that carry their own rule id; any other open escalation is a
# person handling the conversation at the borrower's request (E2).
ESCALATION_RULES = ("E1", "E2", "E3", "E4", "E5", "E6")
PERSON_HANDLING_RULE = "E2"
# Every rule the gate evaluates, in the order it evaluates them (stored on a sent row).
CHECKED_RULES = ("O5", "P3", "T4", "E1-E6", "T5", "T1", "T2", "T3")
# A fixed point is reached in a handful of steps; more means the rules never agree.
MAX_STEPS = 64
# Holding further ahead than the cap window plus this means no allowed time exists.
HORIZON_MARGIN = timedelta(days=2)


class Action(StrEnum):
    SEND = "send"
    HOLD = "hold"
    BLOCK = "block"


def _setting_default(name: str):
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class GateConfig:
    """The gate's parameters; every one comes from settings (`from_settings`). The
    defaults are the settings' own, so compliance's after-the-fact checks
    (api/compliance/outreach_flags.py) judge by the same numbers."""

    allowed_start: time = _setting_default("outreach_allowed_start")
    allowed_end: time = _setting_default("outreach_allowed_end")
    daily_cap: int = _setting_default("outreach_daily_cap")
    window_cap: int = _setting_default("outreach_window_cap")
    window_days: int = _setting_default("outreach_cap_window_days")
    plan_reminder_kinds: frozenset[str] = frozenset(_setting_default("outreach_plan_reminder_kinds"))

    @classmethod
    def from_settings(cls, settings) -> GateConfig:
        return cls(
            allowed_start=settings.outreach_allowed_start,
            allowed_end=settings.outreach_allowed_end,
            daily_cap=settings.outreach_daily_cap,
            window_cap=settings.outreach_window_cap,
            window_days=settings.outreach_cap_window_days,
            plan_reminder_kinds=frozenset(settings.outreach_plan_reminder_kinds),
        )


@dataclass(frozen=True)
class ContactSnapshot:
    """What the gate needs to know about one reminder and its borrower.

    `recent_sends`: when proactive messages reached this borrower on ANY channel (UTC),
    at least the last `window_days` (more is harmless), not counting this reminder.
    `active_plan_id`: the agreement being kept on the loan (None: no plan).
    `reminder_plan_id`: the agreement the reminded instalment belongs to (None: contract).
    """

    timezone: str
    kind: str
    channel: str
    channel_is_borrowers_own: bool
    preferences: Preferences | None = None
    loan_paused: bool = False
    active_plan_id: int | None = None
    reminder_plan_id: int | None = None
    open_escalation_reason: str | None = None
    recent_sends: Sequence[datetime] = field(default_factory=tuple)


@dataclass(frozen=True)
class Verdict:
    action: Action
    rule_id: str | None = None
    until: datetime | None = None  # HOLD: look again at this UTC moment
    detail: str | None = None
    checked: tuple[str, ...] = CHECKED_RULES  # SEND: every rule above was checked

    @property
    def allowed(self) -> bool:
        return self.action is Action.SEND


def evaluate(snapshot: ContactSnapshot, *, now: datetime, config: GateConfig) -> Verdict:
    """The verdict for sending `snapshot`'s reminder at `now` (timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    blocked = _blocking_rule(snapshot, now=now, config=config)
    if blocked is not None:
        return blocked
    return _timing(snapshot, now=now.astimezone(timezone.utc), config=config)


# ---- rules that block ----------------------------------------------------------------


def _blocking_rule(snapshot: ContactSnapshot, *, now: datetime, config: GateConfig) -> Verdict | None:
    if snapshot.loan_paused:
        return _block("O5", "贷款机构已暂停该笔贷款的催收（O5）")
    if not snapshot.channel_is_borrowers_own:
        return _block("P3", "目标渠道不是借款人本人已核实的渠道，提醒只发给借款人本人（P1/P3）")
    local = now.astimezone(ZoneInfo(snapshot.timezone)).time()
    decision = contact_allowed(
        snapshot.preferences,
        channel=ContactChannel(snapshot.channel),
        purpose=ContactPurpose.COLLECTION,
        local_time=local,
    )
    if decision.rule_id == RuleId.T4:
        stop_all = bool(getattr(snapshot.preferences, "stop_all", False))
        return _block("T4", "借款人已要求停止全部催收联系（T4）" if stop_all
                      else f"借款人已关闭 {snapshot.channel} 渠道的提醒（T4）")
    if decision.rule_id == RuleId.P3:  # not reachable for a collection purpose; kept for safety
        return _block("P3", "借款人要求不联系单位或家人（P3）")
    if snapshot.open_escalation_reason is not None:
        reason = snapshot.open_escalation_reason
        rule = reason if reason in ESCALATION_RULES else PERSON_HANDLING_RULE
        return _block(rule, f"借款人的会话正由人工处理（{reason}），自动提醒暂停")
    if snapshot.active_plan_id is not None and (
        snapshot.kind not in config.plan_reminder_kinds
        or snapshot.reminder_plan_id != snapshot.active_plan_id
    ):
        return _block("T5", "借款人正在履行已约定的还款方案，只发送方案约定的提醒（T5）")
    return None


def _block(rule_id: str, detail: str) -> Verdict:
    return Verdict(Action.BLOCK, rule_id=rule_id, detail=detail, checked=())


# ---- rules that hold -----------------------------------------------------------------


def _timing(snapshot: ContactSnapshot, *, now: datetime, config: GateConfig) -> Verdict:
    zone = ZoneInfo(snapshot.timezone)
    sends = sorted(s.astimezone(timezone.utc) for s in snapshot.recent_sends)
    rules = (
        ("T1", lambda at: _t1_next(at, zone, config)),
        ("T2", lambda at: _t2_next(at, zone, snapshot.preferences)),
        ("T3", lambda at: _t3_next(at, zone, sends, config)),
    )
    horizon = now + timedelta(days=config.window_days) + HORIZON_MARGIN
    candidate, first_rule = now, None
    for _ in range(MAX_STEPS):
        moved = False
        for rule_id, next_allowed in rules:
            later = next_allowed(candidate)
            if later is not None and later > candidate:
                first_rule, candidate, moved = first_rule or rule_id, later, True
        if not moved:
            break
        if candidate > horizon:
            return _block("T2", "借款人设定的免打扰时段与允许联系的时段没有交集，无法发送（T1/T2）")
    else:
        return _block("T2", "借款人设定的免打扰时段与允许联系的时段没有交集，无法发送（T1/T2）")
    if first_rule is None:
        return Verdict(Action.SEND)
    local = candidate.astimezone(zone)
    return Verdict(
        Action.HOLD, rule_id=first_rule, until=candidate,
        detail=f"{HOLD_REASONS[first_rule]}；顺延至借款人当地时间 {local:%Y-%m-%d %H:%M}（{snapshot.timezone}）",
        checked=(),
    )


HOLD_REASONS = {
    "T1": "不在允许主动联系的时段内（T1）",
    "T2": "处于借款人设定的免打扰时段（T2）",
    "T3": "已达主动联系频次上限（T3）",
}


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`day` at wall-clock `at` in `zone`, as UTC. A wall time skipped by a DST change
    (02:30 on a spring-forward day) lands just after the gap, as zoneinfo resolves it."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(timezone.utc)


def _t1_next(at: datetime, zone: ZoneInfo, config: GateConfig) -> datetime | None:
    local = at.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    if config.allowed_start <= wall < config.allowed_end:
        return None
    day = local.date() if wall < config.allowed_start else local.date() + timedelta(days=1)
    return local_moment(day, config.allowed_start, zone)


def _t2_next(at: datetime, zone: ZoneInfo, preferences: Preferences | None) -> datetime | None:
    if preferences is None:
        return None
    start, end = preferences.quiet_start, preferences.quiet_end
    local = at.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    if not in_quiet_hours(wall, start=start, end=end):
        return None
    day = local.date() if wall < end else local.date() + timedelta(days=1)
    return local_moment(day, end, zone)


def _t3_next(at: datetime, zone: ZoneInfo, sends: list[datetime], config: GateConfig) -> datetime | None:
    """The earliest moment from `at` at which one more send stays within both caps."""
    latest = None
    day = at.astimezone(zone).date()
    if sum(1 for s in sends if s <= at and s.astimezone(zone).date() == day) >= config.daily_cap:
        latest = local_moment(day + timedelta(days=1), time(0, 0), zone)
    window = timedelta(days=config.window_days)
    in_window = [s for s in sends if at - window < s <= at]
    if len(in_window) >= config.window_cap:
        # The oldest sends must age out until one fewer than the cap remains.
        frees_at = in_window[len(in_window) - config.window_cap] + window
        latest = frees_at if latest is None else max(latest, frees_at)
    return latest
