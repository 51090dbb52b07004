"""The live-update bus: hints reach every subscriber of a topic, and only those."""

import asyncio

from api.core.events import SUBSCRIBER_BACKLOG, EventBus, QUEUE_TOPIC, conversation_topic


async def test_a_hint_reaches_each_subscriber_of_its_topic_only():
    bus = EventBus()
    topic = conversation_topic("c1")
    async with bus.subscribe(topic) as first, bus.subscribe(topic, QUEUE_TOPIC) as second:
        async with bus.subscribe(conversation_topic("c2")) as other:
            bus.publish(topic, message_id=7)
            assert await first.next(1) == {"topic": topic, "message_id": 7}
            assert await second.next(1) == {"topic": topic, "message_id": 7}
            assert await other.next(0.05) is None


async def test_waiting_without_a_hint_times_out_for_a_keep_alive():
    bus = EventBus()
    async with bus.subscribe(QUEUE_TOPIC) as subscription:
        assert await subscription.next(0.05) is None


async def test_leaving_unsubscribes():
    bus = EventBus()
    async with bus.subscribe(QUEUE_TOPIC):
        assert bus.subscriber_count(QUEUE_TOPIC) == 1
    assert bus.subscriber_count(QUEUE_TOPIC) == 0
    bus.publish(QUEUE_TOPIC, changed=True)  # nobody listening: nothing happens


async def test_a_slow_subscriber_loses_hints_not_the_latest_wake_up():
    bus = EventBus()
    async with bus.subscribe(QUEUE_TOPIC) as slow:
        for n in range(SUBSCRIBER_BACKLOG + 10):
            bus.publish(QUEUE_TOPIC, n=n)
        received = []
        while (event := await slow.next(0.01)) is not None:
            received.append(event["n"])
        assert received == list(range(SUBSCRIBER_BACKLOG))


async def test_publish_from_another_task_wakes_a_waiting_subscriber():
    bus = EventBus()
    async with bus.subscribe(QUEUE_TOPIC) as subscription:
        waiter = asyncio.create_task(subscription.next(2))
        await asyncio.sleep(0.01)
        bus.publish(QUEUE_TOPIC, changed=True)
        assert (await waiter)["changed"] is True
