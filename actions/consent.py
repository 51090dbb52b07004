"""D3: only the explicit word binds. "好吧", "嗯", "ok", "不确认", "确认一下" do not."""

import re
import unicodedata

CONSENT_WORD = "确认"
# Punctuation and emoji-free decoration a borrower may type around the word.
_AROUND = re.compile(r"^[\s\"'“”‘’「」【】\[\]()（）]*|[\s\"'“”‘’「」【】\[\]()（）。.!！~～]*$")


def is_explicit_consent(text: str) -> bool:
    cleaned = _AROUND.sub("", unicodedata.normalize("NFKC", text or ""))
    return cleaned == CONSENT_WORD
