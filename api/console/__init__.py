"""Collector console (issue 6): the queue of conversations waiting for a person, claiming
one, reading its whole context, answering through the borrower's own channel behind the
pre-send language guard, internal notes, handing back to the bot or closing.

The console adds no second state machine: every state change goes through
api/gateway/escalation.py, every outbound collector message through
api/gateway/outbound.py, and every text through api/guard.
"""
