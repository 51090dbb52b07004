"""Per-session message rate limit for the public chat (an abuse guard, not a business rule).

In-process sliding window: right for the embedded default's single api process. With
several api workers each enforces its own window, so the effective limit is at most
workers × limit — acceptable for abuse protection; a shared limiter belongs with the
scaled topology's Redis.
"""

import time
from collections import deque


class SlidingWindowLimiter:
    def __init__(self, *, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str, *, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= self.window_seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        self._forget_idle(now)
        return True

    def _forget_idle(self, now: float) -> None:
        # Keep memory bounded: drop keys whose window has fully passed.
        if len(self._hits) > 10_000:
            for key in [k for k, v in self._hits.items() if not v or now - v[-1] >= self.window_seconds]:
                del self._hits[key]
