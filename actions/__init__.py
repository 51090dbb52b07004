"""Custom actions for the Rasa bot (rasa-sdk). They ask the api; they never compute money."""
