"""The event payloads, one module a family: products, stock, sales, cash, users, customers, conflicts; base.py
holds what they share (bounds, constrained types, priorities, the `Payload` base and `event_type`).

Import them from `caja_tui.domain.events`, which loads every family (registering each tag once, in a fixed
order) and holds the envelope and decoding."""
