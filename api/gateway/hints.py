"""The hints the gateway publishes on the live-update bus (api/core/events.py).

Called only after the transaction that made the change has committed, so a subscriber
that wakes up and re-reads the database finds the change. A hint carries ids only.
"""

from api.core.events import QUEUE_TOPIC, EventBus, conversation_topic


def announce(
    events: EventBus, conversation_id: str, *, message_id: int | None, queue_changed: bool = False
) -> None:
    """Conversation `conversation_id` has new messages (up to `message_id`) or a new
    state; with `queue_changed` the collector queue changed too (an escalation was
    opened or became more urgent)."""
    events.publish(
        conversation_topic(conversation_id), conversation_id=conversation_id, message_id=message_id
    )
    if queue_changed:
        events.publish(QUEUE_TOPIC, conversation_id=conversation_id)
