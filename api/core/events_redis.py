"""The live-update bus across api processes: Redis pub/sub (the scaled topology, REDIS_URL).

Same interface and the same promise as the in-process bus (api/core/events.py): a hint
carries ids only and the database stays the truth, so a lost hint costs one re-read (the
streams re-read on every keep-alive anyway) and a duplicate costs one extra read.

How it works:
- Every hint goes on ONE Redis channel, with its topic inside the payload. Each api
  process holds one subscription to that channel and hands each hint to its own local
  subscribers of the topic. No per-conversation SUBSCRIBE/UNSUBSCRIBE traffic, and no
  window in which a stream is open but its Redis subscription not yet active: a stream
  subscribes locally, synchronously, exactly as on the in-process bus. The price: every
  api process receives every hint (~100 bytes each) and drops those nobody local wants;
  at a few thousand hints a second per worker that is still noise.
- `publish` stays synchronous for its callers: the hint is delivered to this process's
  own subscribers at once (so one process behaves exactly like the in-process bus, even
  while Redis is down) and queued for a background task that PUBLISHes it in order. The
  process skips its own hints when they come back from Redis.
- Redis going away: publishing retries a hint a few times, then drops it and counts it;
  the listener reconnects with backoff and re-subscribes. After every re-subscribe each
  local subscriber gets one `{"topic": …, "resync": True}` hint per topic it follows, so
  the streams re-read at once what they may have missed while the link was down, instead
  of waiting for their next keep-alive.
"""

import asyncio
import json
import logging
import uuid
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from api.core.events import EventBus

log = logging.getLogger(__name__)

DEFAULT_CHANNEL = "repayment:hints"
OUTBOX_MAX = 10_000  # hints waiting to be published; beyond, new hints are dropped
PUBLISH_ATTEMPTS = 3
RECONNECT_MIN_SECONDS = 0.1
RECONNECT_MAX_SECONDS = 2.0
CONNECT_TIMEOUT_SECONDS = 2.0
START_WAIT_SECONDS = 2.0  # start() waits this long for the first subscription, then goes on
HEALTH_CHECK_SECONDS = 10


class RedisEventBus(EventBus):
    """Hints published by any api process reach the subscribers of every api process."""

    def __init__(self, url: str, *, channel: str = DEFAULT_CHANNEL) -> None:
        super().__init__()
        self.url = url
        self.channel = channel
        self.origin = uuid.uuid4().hex  # this process's own hints are not delivered twice
        self.client_name = f"repayment-events-{self.origin[:12]}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: redis.Redis | None = None
        self._outbox: asyncio.Queue[str] | None = None
        self._tasks: list[asyncio.Task] = []
        self._connected = asyncio.Event()
        # Failures are recorded, not swallowed (CONVENTIONS: side effects after commit).
        self.published = 0
        self.dropped = 0
        self.reconnects = 0

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._connected = asyncio.Event()
        self._client = redis.Redis.from_url(
            self.url,
            client_name=self.client_name,  # CLIENT LIST shows whose connections these are
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_keepalive=True,
            health_check_interval=HEALTH_CHECK_SECONDS,
        )
        self._outbox = asyncio.Queue(maxsize=OUTBOX_MAX)
        self._tasks = [
            asyncio.create_task(self._publisher(), name="event-bus-publisher"),
            asyncio.create_task(self._listener(), name="event-bus-listener"),
        ]
        if not await self.wait_connected(START_WAIT_SECONDS):
            # The api still serves: streams fall back to their keep-alive re-reads.
            log.warning("event bus: Redis at %s not reachable yet; retrying in the background",
                        _safe_url(self.url))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._loop = None

    async def wait_connected(self, timeout: float) -> bool:
        """True once the cross-process subscription is active (within `timeout`)."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
            return True
        except TimeoutError:
            return False

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # -- publishing ----------------------------------------------------------------

    def publish(self, topic: str, **event: Any) -> None:
        """Call after the transaction that made the change has committed."""
        loop = self._loop
        if loop is None:  # not started (or stopped): this process only
            self._deliver_locally(topic, event)
            return
        try:
            here = asyncio.get_running_loop() is loop
        except RuntimeError:
            here = False
        if here:
            self._publish_here(topic, event)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._publish_here, topic, event)

    def _publish_here(self, topic: str, event: dict[str, Any]) -> None:
        self._deliver_locally(topic, event)
        payload = json.dumps({"o": self.origin, "t": topic, "e": event}, default=str)
        try:
            self._outbox.put_nowait(payload)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("event bus: outbox full, hint for %s dropped (subscribers re-read)", topic)

    async def _publisher(self) -> None:
        while True:
            payload = await self._outbox.get()
            for attempt in range(PUBLISH_ATTEMPTS):
                try:
                    await self._client.publish(self.channel, payload)
                    self.published += 1
                    break
                except (RedisError, OSError) as exc:
                    if attempt == PUBLISH_ATTEMPTS - 1:
                        self.dropped += 1
                        log.warning("event bus: hint dropped after %d attempts (%s); "
                                    "subscribers re-read on their keep-alive", PUBLISH_ATTEMPTS, exc)
                    else:
                        await asyncio.sleep(RECONNECT_MIN_SECONDS * (attempt + 1))

    # -- receiving -----------------------------------------------------------------

    async def _listener(self) -> None:
        backoff = RECONNECT_MIN_SECONDS
        subscribed_before = False
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                while True:
                    message = await pubsub.get_message(timeout=HEALTH_CHECK_SECONDS)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        # First subscription, or redis-py re-subscribed after a reconnect.
                        self._connected.set()
                        backoff = RECONNECT_MIN_SECONDS
                        if subscribed_before:
                            self.reconnects += 1
                            log.info("event bus: re-subscribed to %s; subscribers re-read", self.channel)
                            self._resync_local()
                        subscribed_before = True
                    elif message["type"] == "message":
                        self._receive(message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self._connected.is_set():
                    log.warning("event bus: lost Redis (%s); reconnecting", exc)
                self._connected.clear()
            finally:
                try:
                    await asyncio.shield(pubsub.aclose())
                except (RedisError, OSError):
                    pass
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)

    def _receive(self, data: bytes | str) -> None:
        try:
            hint = json.loads(data)
            origin, topic, event = hint["o"], hint["t"], hint["e"]
        except (ValueError, KeyError, TypeError):
            log.warning("event bus: malformed hint ignored")
            return
        if origin == self.origin or not isinstance(event, dict):
            return  # already delivered locally when it was published
        self._deliver_locally(topic, event)

    def _resync_local(self) -> None:
        """Hints may have been lost while disconnected: every local subscriber re-reads."""
        for topic in self.topics():
            self._deliver_locally(topic, {"resync": True})


def _safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1) if "://" in url else ("", url)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
