"""Live-update hints between requests: "something changed in conversation X" or "the
queue changed".

The database stays the only source of truth. An event carries ids, never content: a
subscriber that wakes up re-reads what is new (messages with id > the last it sent). So a
dropped or duplicated hint costs nothing but one extra read, a reconnecting client resumes
from its last message id, and swapping this in-process bus for Redis pub/sub (several
api workers, the scaled topology) changes no caller.
"""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

QUEUE_TOPIC = "queue"
# A subscriber that does not keep up misses hints, not data: one pending hint is enough
# to make it re-read everything new.
SUBSCRIBER_BACKLOG = 64


def conversation_topic(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


class Subscription:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=SUBSCRIBER_BACKLOG)

    def _offer(self, event: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            pass  # hints already pending will make the subscriber re-read

    async def next(self, timeout: float) -> dict[str, Any] | None:
        """The next hint, or None after `timeout` seconds (time for a keep-alive)."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None


class EventBus:
    """In-process publish/subscribe for one api process (the embedded default)."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    def publish(self, topic: str, **event: Any) -> None:
        """Call after the transaction that made the change has committed."""
        for subscription in list(self._subscribers.get(topic, ())):
            subscription._offer({"topic": topic, **event})

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        for topic in topics:
            self._subscribers[topic].add(subscription)
        try:
            yield subscription
        finally:
            for topic in topics:
                self._subscribers[topic].discard(subscription)
                if not self._subscribers[topic]:
                    del self._subscribers[topic]
