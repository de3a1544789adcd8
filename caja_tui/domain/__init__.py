"""Pure domain: event types, money, the hybrid logical clock, the hash chain and the business rules.

Imports nothing but the standard library and msgspec (enforced by tests/unit/test_layers.py).
"""
