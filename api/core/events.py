"""Live-update hints between requests: "something changed in conversation X" or "the
queue changed".

The database stays the only source of truth. An event carries ids, never content: a
subscriber that wakes up re-reads what is new (messages with id > the last it sent). So a
dropped or duplicated hint costs nothing but one extra read, a reconnecting client resumes
from its last message id, and swapping this in-process bus for Redis pub/sub (several
api workers, the scaled topology: api/core/events_redis.py, chosen by REDIS_URL) changes
no caller.

`publish` is synchronous and may be called from the event loop or from a worker thread
(a Starlette background task with a plain function runs in the thread pool): a hint is
handed to the subscriber's loop thread-safely.
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
        self._loop = asyncio.get_running_loop()

    def _offer(self, event: dict[str, Any]) -> None:
        try:
            in_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:  # a worker thread: no loop running here
            in_loop = False
        if in_loop:
            self._put(event)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._put, event)

    def _put(self, event: dict[str, Any]) -> None:
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

    async def start(self) -> None:
        """Called in the app's lifespan; the in-process bus needs nothing."""

    async def close(self) -> None:
        """Called when the app stops."""

    def publish(self, topic: str, **event: Any) -> None:
        """Call after the transaction that made the change has committed."""
        self._deliver_locally(topic, event)

    def _deliver_locally(self, topic: str, event: dict[str, Any]) -> None:
        for subscription in list(self._subscribers.get(topic, ())):
            subscription._offer({"topic": topic, **event})

    def topics(self) -> list[str]:
        """Topics with at least one subscriber in this process."""
        return list(self._subscribers)

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


def make_event_bus(redis_url: str = "", *, channel: str = "") -> EventBus:
    """The in-process bus, or with a Redis URL the bus shared by every api process."""
    if not redis_url:
        return EventBus()
    from api.core.events_redis import DEFAULT_CHANNEL, RedisEventBus  # only the scaled mode needs redis

    return RedisEventBus(redis_url, channel=channel or DEFAULT_CHANNEL)
