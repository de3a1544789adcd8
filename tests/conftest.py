"""Shared fixtures: real SQLite files in a temporary folder, a frozen wall clock where it matters."""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from caja_tui.application import cash, users
from caja_tui.store.sqlite import SqliteStore


class StepClock:
    """A wall clock that advances 1 ms per call from a fixed start (deterministic hlc and created_at)."""

    def __init__(self, start: int = 1_764_270_000_000) -> None:
        self._c = itertools.count(start)

    def __call__(self) -> int:
        return next(self._c)


def db(store: SqliteStore) -> sqlite3.Connection:
    """The file as an auditor reads it: tests look at tables directly, through the store's own connection
    (the product's code outside store/ never does; tests/unit/test_layers.py checks that)."""
    return store._conn


def scalar(store: SqliteStore, sql: str, params: tuple = ()) -> int:
    """One number read straight from the file (COUNT(*) and the like)."""
    return db(store).execute(sql, params).fetchone()[0] or 0


def make_store(path, device_id="T01", store_id="s1", wall=None) -> SqliteStore:
    kw = {"wall": wall} if wall else {}
    return SqliteStore(path, store_id=store_id, device_id=device_id, **kw).open()


@pytest.fixture
def store(tmp_path):
    s = make_store(tmp_path / "till.db")
    yield s
    s.close()


@pytest.fixture
def staffed(store):
    """A till with a manager (ana, 1234), a cashier (luis, 0000) and an open cash session with a 500.00 float."""
    users.create_user(store, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    users.create_user(store, "system", name="Luis", role="cashier", pin="0000", user_id="luis")
    cash.open_session(store, "luis", 50_000)
    return store
