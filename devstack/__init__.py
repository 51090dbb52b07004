"""Local process supervisor: trains the model when needed and runs api, actions and Rasa.

Used by `make run` and by the end-to-end tests, so both start the stack the same way.
"""
