"""Custom actions for the Rasa bot (rasa-sdk). They ask the api; they never compute money."""

from actions.observability import configure_for_action_server

# The action server's only start-up hook (see actions/observability.py): a no-op unless
# this process is `python -m rasa_sdk`.
configure_for_action_server()
