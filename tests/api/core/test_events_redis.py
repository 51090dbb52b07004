"""The live-update bus across api processes (Redis pub/sub, the scaled topology).

Two RedisEventBus instances stand for two api processes: each has its own Redis
connections, as two uvicorn processes would. Needs Redis at 127.0.0.1:6379 (override with
TEST_REDIS_URL); skipped without it, except under CI. Each test uses its own channel.
"""

import asyncio
import os
import threading
import uuid

import pytest
import redis.asyncio as redis

from api.core import events_redis
from api.core.events import QUEUE_TOPIC, EventBus, conversation_topic, make_event_bus
from api.core.events_redis import RedisEventBus
from tests.conftest import free_port

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WAIT = 5.0  # seconds: a hint crossing Redis on loopback takes milliseconds


@pytest.fixture
async def admin():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as exc:
        await client.aclose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    yield client
    await client.aclose()


@pytest.fixture
async def buses(admin):
    """Two started buses on one fresh channel: api process 1 and api process 2."""
    channel = f"test-hints:{uuid.uuid4().hex}"
    pair = [RedisEventBus(REDIS_URL, channel=channel), RedisEventBus(REDIS_URL, channel=channel)]
    for bus in pair:
        await bus.start()
        assert bus.connected
    yield pair
    for bus in pair:
        await bus.close()


async def kill_connections(admin, bus: RedisEventBus, *, subscriber_only: bool = False) -> int:
    """CLIENT KILL the bus's own connections (by name, so nobody else's is touched)."""
    killed = 0
    for client in await admin.client_list():
        if client.get("name") != bus.client_name:
            continue
        if subscriber_only and client.get("sub") in (None, "0"):
            continue
        await admin.execute_command("CLIENT", "KILL", "ID", client["id"])
        killed += 1
    return killed


async def next_real_hint(subscription, timeout: float = WAIT) -> dict | None:
    """The next hint that is not a resync wake-up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := deadline - loop.time()) > 0:
        hint = await subscription.next(left)
        if hint is None or not hint.get("resync"):
            return hint
    return None


async def test_a_hint_published_on_one_process_reaches_a_subscriber_on_the_other(buses):
    one, two = buses
    topic = conversation_topic("c-1")
    async with two.subscribe(topic) as remote, one.subscribe(topic) as local:
        async with two.subscribe(conversation_topic("c-2")) as other:
            one.publish(topic, conversation_id="c-1", message_id=42)
            assert await remote.next(WAIT) == {"topic": topic, "conversation_id": "c-1", "message_id": 42}
            # The publisher's own subscriber gets it at once, and only once (its copy
            # coming back through Redis is skipped).
            assert await local.next(0.5) == {"topic": topic, "conversation_id": "c-1", "message_id": 42}
            assert await local.next(0.3) is None
            assert await other.next(0.1) is None


async def test_hints_keep_their_order_across_processes(buses):
    one, two = buses
    async with two.subscribe(QUEUE_TOPIC) as remote:
        for n in range(20):
            one.publish(QUEUE_TOPIC, n=n)
        received = [(await remote.next(WAIT))["n"] for _ in range(20)]
    assert received == list(range(20))


async def test_a_hint_published_from_a_worker_thread_crosses_over(buses):
    # Starlette runs a background task given as a plain function in its thread pool.
    one, two = buses
    async with two.subscribe(QUEUE_TOPIC) as remote, one.subscribe(QUEUE_TOPIC) as local:
        thread = threading.Thread(target=one.publish, args=(QUEUE_TOPIC,), kwargs={"note_id": 5})
        thread.start()
        await asyncio.to_thread(thread.join)
        assert (await remote.next(WAIT))["note_id"] == 5
        assert (await local.next(WAIT))["note_id"] == 5


async def test_the_subscriber_reconnects_after_its_connection_is_killed(admin, buses):
    one, two = buses
    topic = conversation_topic("c-3")
    async with two.subscribe(topic) as remote:
        assert await kill_connections(admin, two, subscriber_only=True) == 1
        # Back on the channel: the local subscriber is told to re-read (it may have
        # missed hints while the link was down) ...
        resync = await remote.next(WAIT)
        assert resync == {"topic": topic, "resync": True}
        assert two.reconnects == 1 and two.connected
        # ... and hints flow again.
        one.publish(topic, message_id=7)
        assert await next_real_hint(remote) == {"topic": topic, "message_id": 7}


async def test_the_publisher_reconnects_after_its_connections_are_killed(admin, buses):
    one, two = buses
    async with two.subscribe(QUEUE_TOPIC) as remote:
        one.publish(QUEUE_TOPIC, n=1)
        assert (await remote.next(WAIT))["n"] == 1
        assert await kill_connections(admin, one) >= 2  # its publisher and its subscriber
        one.publish(QUEUE_TOPIC, n=2)
        assert await next_real_hint(remote) == {"topic": QUEUE_TOPIC, "n": 2}
        assert one.dropped == 0


async def test_without_redis_the_process_still_serves_its_own_subscribers(monkeypatch):
    monkeypatch.setattr(events_redis, "START_WAIT_SECONDS", 0.2)
    bus = RedisEventBus(f"redis://127.0.0.1:{free_port()}/0", channel="unreachable")
    await bus.start()  # does not fail the app's start-up; keeps retrying in the background
    try:
        assert not bus.connected
        async with bus.subscribe(QUEUE_TOPIC) as local:
            bus.publish(QUEUE_TOPIC, changed=True)
            assert await local.next(0.5) == {"topic": QUEUE_TOPIC, "changed": True}
    finally:
        await bus.close()


async def test_no_redis_url_means_the_in_process_bus():
    bus = make_event_bus("", channel="ignored")
    assert type(bus) is EventBus
    await bus.start()
    async with bus.subscribe(QUEUE_TOPIC) as subscription:
        bus.publish(QUEUE_TOPIC, changed=True)
        assert await subscription.next(0.5) == {"topic": QUEUE_TOPIC, "changed": True}
    await bus.close()
    assert isinstance(make_event_bus(REDIS_URL, channel="x"), RedisEventBus)


async def test_the_in_process_bus_accepts_a_hint_from_a_worker_thread():
    bus = EventBus()
    async with bus.subscribe(QUEUE_TOPIC) as subscription:
        waiter = asyncio.create_task(subscription.next(WAIT))
        await asyncio.sleep(0.01)
        await asyncio.to_thread(bus.publish, QUEUE_TOPIC, note_id=1)
        assert await waiter == {"topic": QUEUE_TOPIC, "note_id": 1}
