"""Caja: an offline-first cash register that runs in a terminal."""

__version__ = "0.1.0"
