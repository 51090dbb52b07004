"""Contact preferences (P3, T4): "别打我单位电话了" is recorded through the api, which
every outbound path enforces, and confirmed back with what it means."""

from actions.base import Events, Request, Turn
from actions.templates import say

CHANGES = {
    "request_stop_workplace_contact": ({"no_workplace_contact": True}, "preference_workplace"),
    "request_stop_family_contact": ({"no_family_contact": True}, "preference_family"),
    "request_stop_all_contact": ({"stop_all": True}, "preference_all"),
}


async def update_preference(turn: Turn, request: Request) -> Events:
    change, confirmation = CHANGES[request.intent]
    await turn.client.update_contact_preferences(turn.conversation_id, **change)
    say(turn.dispatcher, confirmation)  # only after the api recorded it
    return []
