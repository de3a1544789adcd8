"""What every family of a transaction's queries stands on: `_q`, `_conn` and `store`, which SqliteTx
(store/tx.py) provides, and `chunks`, for an IN list longer than SQLite takes at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any


class Reads:
    _conn: sqlite3.Connection
    store: Any

    def _q(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        raise NotImplementedError


def chunks(items: list[str], n: int) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
