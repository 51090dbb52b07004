"""The outreach log in the compliance workspace: every reminder with what became of it,
its rule id, UTC and borrower-local times, channel and template; filters and pages; the
flags of a send that broke a rule."""

from datetime import datetime, timedelta, timezone

from api.gateway.models import Channel
from api.outreach.models import OutreachStatus
from api.users.models import Role
from tests.api.compliance.helpers import staff_headers
from tests.api.compliance.outreach_rows import make_borrower_conversation, make_outreach
from tests.api.payments.builders import make_borrower, make_loan

URL = "/api/v1/compliance/outreach"
# 2026-03-02 06:00 UTC = 10:00 in Dubai (UTC+4), 14:00 in Shanghai.
MORNING = datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc)


async def _dubai_borrower(session):
    borrower = await make_borrower(session, timezone="Asia/Dubai")
    loan = await make_loan(session, borrower=borrower)
    conversation = await make_borrower_conversation(session, borrower=borrower, started=MORNING - timedelta(days=9))
    await session.commit()
    return borrower, loan, conversation


async def test_the_log_shows_sends_holds_and_blocks_with_rule_ids_and_both_times(client, session):
    headers = await staff_headers(client, session)
    borrower, loan, conversation = await _dubai_borrower(session)
    sent = await make_outreach(session, loan=loan, kind="due_today", at=MORNING, conversation=conversation)
    held = await make_outreach(session, loan=loan, kind="due_soon", status=OutreachStatus.HELD, rule_id="T1",
                               detail="不在允许主动联系的时段内（T1）", at=MORNING + timedelta(hours=13))
    blocked = await make_outreach(session, loan=loan, kind="missed_payment", status=OutreachStatus.BLOCKED,
                                  rule_id="T4", detail="借款人已要求停止全部催收联系（T4）",
                                  at=MORNING + timedelta(days=1))

    response = await client.get(URL, params={"borrower_id": borrower.id}, headers=headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 3
    assert [i["id"] for i in body["items"]] == [blocked.id, held.id, sent.id]  # newest first
    by_id = {i["id"]: i for i in body["items"]}
    s = by_id[sent.id]
    assert (s["status"], s["rule_id"], s["channel"], s["template_key"], s["kind"]) == (
        "sent", None, "web", "due_today", "due_today")
    assert s["template"] == "outreach:due_today" and s["message_id"] == sent.message_id
    assert datetime.fromisoformat(s["sent_at"]) == MORNING
    local = datetime.fromisoformat(s["sent_at_local"])
    assert (local.hour, local.utcoffset()) == (10, timedelta(hours=4)) and s["timezone"] == "Asia/Dubai"
    assert s["flags"] == []
    h = by_id[held.id]
    assert (h["status"], h["rule_id"], h["sent_at"], h["channel"]) == ("held", "T1", None, None)
    assert datetime.fromisoformat(h["not_before_local"]).hour == 23
    assert by_id[blocked.id]["rule_id"] == "T4" and "T4" in by_id[blocked.id]["detail"]


async def test_a_send_that_broke_a_rule_carries_its_flag_and_the_rule_filter_finds_it(client, session):
    headers = await staff_headers(client, session)
    _, loan, conversation = await _dubai_borrower(session)
    fine = await make_outreach(session, loan=loan, at=MORNING, conversation=conversation)
    night = await make_outreach(session, loan=loan, at=MORNING + timedelta(days=1, hours=16),  # 02:00 Dubai
                                conversation=conversation)
    held = await make_outreach(session, loan=loan, status=OutreachStatus.HELD, rule_id="T1",
                               at=MORNING + timedelta(days=2, hours=16))
    await make_outreach(session, loan=loan, status=OutreachStatus.BLOCKED, rule_id="T4", at=MORNING)

    all_rows = (await client.get(URL, headers=headers)).json()
    by_t1 = (await client.get(URL, params={"rule_id": "T1"}, headers=headers)).json()
    flagged = (await client.get(URL, params={"flagged": "true"}, headers=headers)).json()
    unflagged = (await client.get(URL, params={"flagged": "false", "status": "sent"}, headers=headers)).json()

    flags = {i["id"]: [f["rule_id"] for f in i["flags"]] for i in all_rows["items"]}
    assert flags[night.id] == ["T1"] and flags[fine.id] == []
    [flag] = next(i for i in all_rows["items"] if i["id"] == night.id)["flags"]
    assert flag["message_id"] == night.message_id and "02:00" in flag["detail"]
    assert [i["id"] for i in by_t1["items"]] == [held.id, night.id]  # held by T1, or sent against it
    assert [i["id"] for i in flagged["items"]] == [night.id]
    assert [i["id"] for i in unflagged["items"]] == [fine.id]


async def test_filters_by_status_kind_channel_and_date_range_and_pages(client, session):
    headers = await staff_headers(client, session)
    borrower, loan, conversation = await _dubai_borrower(session)
    other = await make_borrower(session)
    other_loan = await make_loan(session, borrower=other)
    wechat = await make_borrower_conversation(session, borrower=other, channel=Channel.WECHAT,
                                              started=MORNING, external_user_id="o-log")
    other.wechat_openid = "o-log"
    await session.commit()
    days = [await make_outreach(session, loan=loan, at=MORNING + timedelta(days=d), conversation=conversation)
            for d in range(4)]
    cancelled = await make_outreach(session, loan=loan, kind="promise_followup", at=MORNING + timedelta(days=1),
                                    status=OutreachStatus.CANCELLED)
    on_wechat = await make_outreach(session, loan=other_loan, at=MORNING + timedelta(days=2), conversation=wechat)

    async def ids(**params) -> list[int]:
        response = await client.get(URL, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    assert await ids(borrower_id=borrower.id, status="sent") == [d.id for d in reversed(days)]
    assert await ids(status="cancelled") == [cancelled.id]
    assert await ids(kind="promise_followup") == [cancelled.id]
    assert await ids(channel="wechat") == [on_wechat.id]
    assert await ids(date_from="2026-03-03", date_to="2026-03-04", status="sent") == [
        on_wechat.id, days[2].id, days[1].id]
    first = (await client.get(URL, params={"page_size": 2}, headers=headers)).json()
    second = (await client.get(URL, params={"page_size": 2, "page": 2}, headers=headers)).json()
    assert first["total"] == second["total"] == 6
    assert len(first["items"]) == len(second["items"]) == 2
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


async def test_bad_filters_are_refused(client, session):
    headers = await staff_headers(client, session)
    for params in ({"status": "nope"}, {"rule_id": "t1"}, {"page_size": 1000}, {"borrower_id": 0}):
        response = await client.get(URL, params=params, headers=headers)
        assert response.status_code == 422, params


async def test_collectors_may_not_read_the_outreach_log(client, session):
    headers = await staff_headers(client, session, Role.COLLECTOR)
    assert (await client.get(URL, headers=headers)).status_code == 403


async def test_the_compliance_page_has_the_outreach_tab_in_chinese(client):
    page = (await client.get("/compliance")).text
    assert 'id="tab-outreach"' in page and "提醒记录" in page
    assert "/compliance/outreach?" in page and "只看违规发送" in page
