"""Tamper-evident audit chain (A2): append-only events, each hashed over its content
and the previous event's hash, checked by `python -m api.audit verify`."""
