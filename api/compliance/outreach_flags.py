"""Compliance flags for proactive messages (reminders) that went out in breach of a
contact rule. Pure, like flags.py, which calls it for each conversation: the facts in,
findings with their rule_id out. The outreach gate (api/outreach/gate.py) should make
every one of these impossible; a flag here means a send got past it (a bug, a manual
insert, a rule or setting changed since), and the reviewer sees it with its rule id.

Judged per send, in the intended borrower's own time zone, with the outreach settings
(api/core/config.py OUTREACH_*), the same parameters the gate uses:

- O5  sent while the lender's pause flag was on for its loan (loan.collection_pause_changed).
- P1  not sent to the borrower's own channel: a conversation of someone else or nobody,
      a WeChat account other than the one bound to the borrower, or a conversation in
      which a third party had been reported (P1/P3: never debt contact to anyone else).
- T4  sent after the borrower switched that channel off, or asked to stop all contact.
- T1  sent outside the allowed local hours (default 08:00-21:00).
- T2  sent inside the borrower's stated quiet hours.
- T3  sent beyond a frequency cap, all channels counted together: more than
      OUTREACH_DAILY_CAP in one local day, or more than OUTREACH_WINDOW_CAP in a rolling
      OUTREACH_CAP_WINDOW_DAYS window (each send counts the sends before it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from api.contact_preferences.rules import in_quiet_hours
from api.outreach.gate import GateConfig


# The same parameters the send-time gate uses: a send is judged afterwards by the very
# numbers that should have stopped it.
OutreachRules = GateConfig


@dataclass(frozen=True)
class ProactiveSend:
    """One proactive message that reached a conversation: an outreach reminder (or any
    bot message whose payload says proactive: true)."""

    at: datetime  # UTC: when it was sent
    message_id: int | None
    outreach_id: int | None = None
    borrower_id: int | None = None  # whom it was meant for
    loan_id: int | None = None
    channel: str = "web"
    not_own_channel: str | None = None  # why the recipient is not the borrower (P1); None: it is

    @property
    def order(self) -> tuple:
        return (self.at, self.outreach_id or 0, self.message_id or 0)


@dataclass(frozen=True)
class PauseChange:
    """The lender's pause flag of one loan set (True) or lifted (False) at `at` (O5)."""

    at: datetime
    loan_id: int
    paused: bool


class PreferenceState(Protocol):
    """flags.OptOut: the borrower's stated preferences as of `at`."""

    at: datetime
    channels: frozenset[str]
    stop_all: bool
    quiet_start: time | None
    quiet_end: time | None


@dataclass(frozen=True)
class BorrowerOutreach:
    """What the rules need to know about one borrower beyond a single conversation."""

    timezone: str
    sends: Sequence[ProactiveSend] = ()  # every proactive send to them, on every channel
    preferences: Sequence[PreferenceState] = ()  # in time order
    pauses: Sequence[PauseChange] = ()  # their loans' pause changes, in time order


@dataclass(frozen=True)
class Finding:
    send: ProactiveSend
    rule_id: str
    detail: str


@dataclass
class _Judge:
    borrower: BorrowerOutreach
    rules: OutreachRules
    history: list[ProactiveSend] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.zone = ZoneInfo(self.borrower.timezone)
        self.history = sorted(self.borrower.sends, key=lambda s: s.order)

    def findings(self, send: ProactiveSend) -> list[Finding]:
        found = [
            self._o5(send), self._p1(send), self._t4(send), self._t1(send), self._t2(send), self._t3(send),
        ]
        return [Finding(send, rule_id, detail) for rule_id, detail in filter(None, found)]

    def _local(self, send: ProactiveSend) -> datetime:
        return send.at.astimezone(self.zone)

    def _o5(self, send: ProactiveSend):
        if send.loan_id is None:
            return None
        state = _latest((p for p in self.borrower.pauses if p.loan_id == send.loan_id), send.at)
        if state is None or not state.paused:
            return None
        return "O5", f"贷款机构已暂停该笔贷款（{send.loan_id}）的催收，仍发送了主动提醒"

    def _p1(self, send: ProactiveSend):
        if send.not_own_channel is None:
            return None
        return "P1", f"主动提醒未发往借款人本人的渠道：{send.not_own_channel}（P1/P3）"

    def _t4(self, send: ProactiveSend):
        state = _latest(self.borrower.preferences, send.at)
        if state is None or not (state.stop_all or send.channel in state.channels):
            return None
        what = "停止全部联系" if state.stop_all else f"关闭 {send.channel} 渠道"
        return "T4", f"借款人已要求{what}后，仍发送了主动提醒"

    def _t1(self, send: ProactiveSend):
        local = self._local(send)
        if self.rules.allowed_start <= local.time().replace(tzinfo=None) < self.rules.allowed_end:
            return None
        window = f"{self.rules.allowed_start:%H:%M}-{self.rules.allowed_end:%H:%M}"
        return "T1", f"主动消息发送于借款人当地时间 {local:%H:%M}（{self.borrower.timezone}），不在允许时段 {window} 内"

    def _t2(self, send: ProactiveSend):
        state = _latest(self.borrower.preferences, send.at)
        if state is None or state.quiet_start is None or state.quiet_end is None:
            return None
        local = self._local(send)
        if not in_quiet_hours(local.time(), start=state.quiet_start, end=state.quiet_end):
            return None
        quiet = f"{state.quiet_start:%H:%M}-{state.quiet_end:%H:%M}"
        return "T2", f"主动消息发送于借款人设定的免打扰时段 {quiet} 内（当地时间 {local:%H:%M}）"

    def _t3(self, send: ProactiveSend):
        earlier = [s for s in self.history if s.order < send.order]
        day = self._local(send).date()
        same_day = sum(1 for s in earlier if self._local(s).date() == day)
        if same_day >= self.rules.daily_cap:
            return "T3", f"借款人当地日 {day} 已有 {same_day} 条主动消息（上限每日 {self.rules.daily_cap} 条），仍继续发送"
        window = timedelta(days=self.rules.window_days)
        in_window = sum(1 for s in earlier if send.at - window < s.at <= send.at)
        if in_window >= self.rules.window_cap:
            return "T3", (f"{self.rules.window_days} 天内已有 {in_window} 条主动消息"
                          f"（上限 {self.rules.window_cap} 条），仍继续发送")
        return None


def _latest(states: Iterable, at: datetime):
    """The last state recorded at or before `at` (None: nothing recorded yet)."""
    found = None
    for state in states:
        if state.at <= at:
            found = state
    return found


def judge_sends(
    sends: Sequence[ProactiveSend], *, borrowers: dict[int | None, BorrowerOutreach], rules: OutreachRules
) -> list[Finding]:
    """Findings for `sends`, each judged with its intended borrower's facts, in send order."""
    judges: dict[int | None, _Judge] = {}
    found: list[Finding] = []
    for send in sorted(sends, key=lambda s: s.order):
        borrower = borrowers.get(send.borrower_id)
        if borrower is None:
            continue
        judge = judges.get(send.borrower_id)
        if judge is None:
            judge = judges[send.borrower_id] = _Judge(borrower, rules)
        found += judge.findings(send)
    return found
