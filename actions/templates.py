"""What the actions say, read from templates.zh.yml (the one place for their Chinese text).

Texts are rendered here rather than kept as Rasa domain responses: the actions choose them
at run time, and `rasa data validate --fail-on-warnings` only accepts responses that a
story or rule uses.
"""

from functools import lru_cache
from pathlib import Path

import yaml
from rasa_sdk.executor import CollectingDispatcher

TEMPLATES_PATH = Path(__file__).with_name("templates.zh.yml")


@lru_cache
def templates() -> dict[str, str]:
    return yaml.safe_load(TEMPLATES_PATH.read_text(encoding="utf-8"))


def render(template: str, /, **values: object) -> str:
    return templates()[template].format(**values)


def say(dispatcher: CollectingDispatcher, template: str, /, **values: object) -> None:
    dispatcher.utter_message(text=render(template, **values))


def say_lines(dispatcher: CollectingDispatcher, lines: list[str]) -> None:
    """Several rendered lines as one chat message (one bubble on WeChat, not five)."""
    dispatcher.utter_message(text="\n".join(lines))
