"""The one wiring place: build the store (and later the sync engine and app) from a Config."""

from __future__ import annotations

from .config import Config
from .store.sqlite import SqliteStore


def open_store(cfg: Config, *, create: bool = False) -> SqliteStore:
    store = SqliteStore(cfg.db_path, store_id=cfg.till.store_id, device_id=cfg.till.device_id,
                        receipt_prefix=cfg.receipt_prefix, emit_limit_per_minute=cfg.sync.emit_limit_per_minute)
    return store.open(create=create)


def build_sync(cfg: Config, store: SqliteStore, *, log_stream=None):
    """The sync engine for this till (no transport when no server is configured: offline only)."""
    from .sync.engine import JsonLines, SyncEngine
    from .sync.transport import Transport

    transport = Transport(cfg.sync.server_url, cfg.sync.token) if cfg.sync.server_url else None
    log = JsonLines(log_stream, device=cfg.till.device_id, store=cfg.till.store_id)
    return SyncEngine(store, transport, batch_size=cfg.sync.batch_size, batch_seconds=cfg.sync.batch_seconds, log=log)
