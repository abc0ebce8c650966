"""Data-subject requests: disclosure, correction, erasure, cessation, inquiries.

A request moves through a fixed set of states (``states``) on the Japanese
business calendar; every step is recorded in its history and audited
(``workflow``). Fulfilment goes through the guard with the system purposes
(``dsr.*``). Downstream systems hear of corrections, erasures and cessations by
signed webhooks from a durable outbox (``outbox``).
"""
