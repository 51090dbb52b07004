"""Borrower → api gateway → Rasa → action server → api (httpx, service token) → reply."""

import pytest

from tests.e2e.conftest import texts

pytestmark = pytest.mark.e2e


def test_greeting_is_answered_by_the_bot(chat):
    replies = chat.say("你好")
    assert replies and all(m["sender"] == "bot" for m in replies)
    assert "AI助手" in texts(replies)


def test_amount_is_disclosed_only_after_identity_verification(chat, live_stack):
    before = chat.say("我欠多少钱")
    assert "核实身份" in texts(before)
    assert "¥" not in texts(before)

    wrong_date = chat.say("张伟 1234 1990-03-08")
    assert "未能通过核验" in texts(wrong_date)
    assert "¥" not in texts(wrong_date)
    # P4: the refusal never says which field was wrong — it is the same whatever was.
    wrong_name = chat.say("张纬 1234 1990-03-07")
    assert texts(wrong_name) == texts(wrong_date)

    verified = chat.say("我叫张伟，身份证后四位1234，生日1990年3月7日")
    reply = texts(verified)
    assert "身份核验通过" in reply
    assert "¥3,250.00" in reply
    assert "本金 ¥3,000.00" in reply and "罚息 ¥60.00" in reply

    again = chat.say("那我现在一共要还多少钱")
    assert "¥3,250.00" in texts(again)

    # One transcript, in order, every message stored and routed.
    transcript = live_stack.transcript(chat.conversation_id)
    borrower_lines = [text for sender, text, _ in transcript if sender == "borrower"]
    assert borrower_lines == [
        "我欠多少钱",
        "张伟 1234 1990-03-08",
        "张纬 1234 1990-03-07",
        "我叫张伟，身份证后四位1234，生日1990年3月7日",
        "那我现在一共要还多少钱",
    ]
    assert {status for sender, _, status in transcript if sender == "borrower"} == {"routed"}
    assert transcript[0][0] == "bot" and "AI助手" in transcript[0][1]


def test_bot_says_it_is_an_ai_when_asked(chat):
    assert "AI助手" in texts(chat.say("你是真人吗"))


def test_another_borrowers_session_does_not_inherit_verification(chat, live_stack):
    # A fresh conversation must verify again (verification is per conversation).
    replies = chat.say("我欠多少钱")
    assert "¥" not in texts(replies)
