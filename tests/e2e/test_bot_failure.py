"""Rasa dies mid-conversation: the message is kept and the borrower is told (never silence)."""

import os
import signal

import pytest

from tests.e2e.conftest import ChatSession, texts

pytestmark = pytest.mark.e2e


def test_message_is_kept_and_borrower_told_when_rasa_dies(disposable_stack):
    chat = ChatSession(disposable_stack.api_url)
    assert chat.say("你好")[0]["sender"] == "bot"

    rasa = next(s for s in disposable_stack.stack.running if s.spec.name == "rasa")
    os.killpg(rasa.process.pid, signal.SIGKILL)
    rasa.process.wait(timeout=10)

    replies = chat.say("我想分期还款")

    assert [m["sender"] for m in replies] == ["system"]
    assert "已经保存" in texts(replies)
    transcript = disposable_stack.transcript(chat.conversation_id)
    assert ("borrower", "我想分期还款", "routing_failed") in transcript
    chat.close()
