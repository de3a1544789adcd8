"""The one wiring place: build the store (and later the sync engine and app) from a Config."""

from __future__ import annotations

from .config import Config
from .store.sqlite import SqliteStore


def open_store(cfg: Config, *, create: bool = False) -> SqliteStore:
    store = SqliteStore(cfg.db_path, store_id=cfg.till.store_id, device_id=cfg.till.device_id,
                        receipt_prefix=cfg.receipt_prefix, emit_limit_per_minute=cfg.sync.emit_limit_per_minute)
    return store.open(create=create)
