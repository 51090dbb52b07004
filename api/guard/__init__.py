"""Pre-send language guard (L1-L3, P1-P4).

Every text a borrower or a third party may read — bot templates now, collector drafts
later — passes `check_message` before it is sent. The check is deterministic pattern
matching over `rules.zh.yml`, so a verdict can be reproduced, audited and explained to a
collector; compliance changes the patterns, not the code.
"""

from api.guard.language import Violation, check_message, normalise

__all__ = ["Violation", "check_message", "normalise"]
