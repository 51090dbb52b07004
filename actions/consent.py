"""D3: only the explicit word binds. "好吧", "嗯", "ok", "不确认", "确认一下" do not.

Exactly the api's rule (surrounding whitespace aside), so the borrower's message can be
attached to the agreement as its consent act: "确认。" or "【确认】" is asked again
rather than read generously.
"""

CONSENT_WORD = "确认"


def is_explicit_consent(text: str) -> bool:
    return (text or "").strip() == CONSENT_WORD
