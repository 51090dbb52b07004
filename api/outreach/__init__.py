"""Outreach (issue 9): due-date reminders and promise-to-pay follow-ups within the rules.

- models.py     the outreach_messages table (one row per reminder, unique source_key)
- scheduler.py  creates reminders from schedules and promises (idempotent; `enqueue`)
- gate.py       the one contact-rules gate: T1-T5, P3, O5, E1-E6 (pure: snapshot + clock)
- sending.py    claim (lease, SKIP LOCKED), decide at send time under the borrower's
                lock, record with its audit event, push
- worker.py     the loop: embedded in the api, or `python -m api.outreach.worker [--once]`
- delivery.py   stores the reminder in the borrower's conversation and pushes it (web, WeChat)
- templates.py  lender-configurable reminder texts (templates.zh.yml), checked by L1
- service.py, routes.py  staff: a borrower's outreach log, the lender's pause flag (O5)
"""
