"""The owner's read models, folded from the stored events after the fact: never on the ingest path.

Each store has a cursor (`hq_cursor`): the store's events up to that `server_seq` are in the read models. A
catch-up reads the next events of the store in `server_seq` order, up to the highest one visible when it
starts (a store's writers commit in `server_seq` order, storage.py, so nothing is skipped), folds them
(fold.py) and writes the sums and moves the cursor in one transaction. The cursor is moved first, on the
condition that it still holds what was read: two workers catching up the same store at once cannot both
count a batch (the second finds the cursor moved and rolls back).

The same code writes the shadow tables (`hqv_*`) that `caja serve verify` builds afresh and compares.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from ...domain.events import PAYLOAD_TYPES, decode_payload
from .fold import Batch
from .models import HQ_MODELS, READ_MODELS, HqCursor
from .writer import Writer

BATCH = 2000  # events per transaction while the server takes pushes (a short hold of SQLite's write lock)
REBUILD_BATCH = 20_000
# the types the fold reads (fold.Batch.add); the others only move the cursor
FOLDED = (
    "sale.created",
    "sale.refunded",
    "sale.voided",
    "stock.adjusted",
    "stock.received",
    "stock.counted",
    "product.created",
    "product.updated",
    "product.deleted",
    "product.restored",
    "config.updated",
    "cash.session_closed",
    "conflict.resolved",
)
assert set(FOLDED) <= set(PAYLOAD_TYPES), "a folded type was renamed"
LIVE, SHADOW = "hq_", "hqv_"


class Projector:
    def __init__(self, storage: Any, prefix: str = LIVE) -> None:
        self.storage = storage
        self.db = storage.database
        self.p = prefix

    def sql(self, text: str) -> str:
        text = text.replace("{p}", self.p)
        return text.replace("?", "%s") if self.storage.is_pg else text

    def rows(self, text: str, params: Iterable[Any] = ()) -> list[tuple]:
        return list(self.db.execute_sql(self.sql(text), tuple(params)).fetchall())

    def many(self, text: str, rows: list[tuple]) -> None:
        if rows:
            self.db.cursor().executemany(self.sql(text), rows)

    # --- which stores, how far ----------------------------------------------------------------------

    def stores(self) -> list[str]:
        return [r[0] for r in self.rows("SELECT DISTINCT store_id FROM device ORDER BY store_id")]

    def top(self, store_id: str) -> int:
        return self.rows("SELECT MAX(server_seq) FROM event WHERE store_id = ?", (store_id,))[0][0] or 0

    def cursor(self, store_id: str) -> int:
        got = self.rows("SELECT server_seq FROM {p}cursor WHERE store_id = ?", (store_id,))
        return got[0][0] if got else 0

    def positions(self) -> dict[str, tuple[int, int]]:
        """Every store's (cursor, highest server_seq), in one query (an index seek per store)."""
        rows = self.rows(
            "SELECT s.store_id, COALESCE(c.server_seq, 0), (SELECT MAX(e.server_seq) FROM event e "
            "WHERE e.store_id = s.store_id) FROM (SELECT DISTINCT store_id FROM device) s "
            "LEFT JOIN {p}cursor c ON c.store_id = s.store_id"
        )
        return {store: (int(at), int(top or 0)) for store, at, top in rows}

    def behind(self, store_id: str) -> int:
        """How many of the store's events are not yet in the read models."""
        return self.rows(
            "SELECT COUNT(*) FROM event WHERE store_id = ? AND server_seq > ?", (store_id, self.cursor(store_id))
        )[0][0]

    # --- catching up --------------------------------------------------------------------------------

    def catch_up(
        self,
        store_id: str,
        *,
        budget_s: float | None = None,
        top: int | None = None,
        batch: int = BATCH,
        pause: Callable[[float], None] | None = None,
    ) -> bool:
        """Fold the store's events up to `top` (default: the highest visible now), one batch per transaction,
        until done or `budget_s` seconds are spent. True when the read models reached `top`."""
        end = None if budget_s is None else time.monotonic() + budget_s
        top = self.top(store_id) if top is None else top
        at = self.cursor(store_id)
        if at < top and not self.rows("SELECT 1 FROM {p}cursor WHERE store_id = ?", (store_id,)):
            with self.db.atomic():  # a write only for a store seen the first time: page loads stay read-only
                self.many(
                    "INSERT INTO {p}cursor (store_id, server_seq) VALUES (?, 0) ON CONFLICT (store_id) DO NOTHING",
                    [(store_id,)],
                )
        while at < top:
            if end is not None and time.monotonic() > end:
                return False
            t0 = time.monotonic()
            self._batch(store_id, at, top, batch)
            at = self.cursor(store_id)
            if pause is not None:
                pause(time.monotonic() - t0)  # the background projector gives way to pushes (background.py)
        return True

    def _batch(self, store_id: str, at: int, top: int, batch: int) -> None:
        """Read and fold the next batch outside any transaction (readers never wait for ingest, nor make it
        wait), then write it in a short one, only if the cursor still holds `at`: nobody else folded it."""
        last = self.rows(
            "SELECT MAX(server_seq) FROM (SELECT server_seq FROM event WHERE store_id = ? AND server_seq > ? "
            "AND server_seq <= ? ORDER BY server_seq LIMIT ?) AS b",
            (store_id, at, top, batch),
        )[0][0]
        marks = ",".join("?" * len(FOLDED))
        events = self.rows(
            f"SELECT server_seq, device_id, event_id, hlc, type, v, payload, actor FROM event WHERE store_id = ? "
            f"AND server_seq > ? AND server_seq <= ? AND type IN ({marks}) ORDER BY server_seq",
            (store_id, at, last, *FOLDED),
        )
        folded = self._fold(store_id, events)
        with self.db.atomic(*(() if self.storage.is_pg else ("IMMEDIATE",))):
            moved = self.db.execute_sql(
                self.sql("UPDATE {p}cursor SET server_seq = ? WHERE store_id = ? AND server_seq = ?"),
                (last, store_id, at),
            ).rowcount
            if moved == 1:  # else another worker folded this batch: the caller reads the cursor again
                Writer(self, store_id).write(folded)

    def _fold(self, store_id: str, events: list[tuple]) -> Batch:
        decoded = [(s, d, e, h, decode_payload(t, v, payload), a) for s, d, e, h, t, v, payload, a in events]
        known = self._known_sales(
            store_id, [p.sale_id for *_, p, _ in decoded if hasattr(p, "sale_id") and hasattr(p, "lines")]
        )
        batch = Batch()
        for server_seq, device_id, event_id, hlc, payload, actor in decoded:
            batch.add(server_seq, device_id, event_id, hlc, payload, known, actor)
        return batch

    def _known_sales(self, store_id: str, sale_ids: list[str]) -> dict:
        """The sales already folded among `sale_ids`: (server_seq, voided, (hlc, payload) of a live one)."""
        known: dict[str, tuple] = {}
        ids = sorted(set(sale_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            for sale_id, server_seq, voided in self.rows(
                f"SELECT sale_id, server_seq, voided FROM {{p}}sale WHERE store_id = ? AND sale_id IN ({','.join('?' * len(chunk))})",
                (store_id, *chunk),
            ):
                known[sale_id] = (server_seq, voided, None)
        live = [s for s in known.values() if not s[1] and s[0] is not None]
        if live:
            by_seq = {r[0]: r for r in self._events_at([s[0] for s in live])}
            for sale_id, (server_seq, voided, _) in list(known.items()):
                if not voided and server_seq in by_seq:
                    _, hlc, type_, v, payload = by_seq[server_seq]
                    known[sale_id] = (server_seq, 0, (hlc, decode_payload(type_, v, payload)))
        return known

    def _events_at(self, seqs: list[int]) -> list[tuple]:
        out = []
        for i in range(0, len(seqs), 500):
            chunk = seqs[i : i + 500]
            out += self.rows(
                f"SELECT server_seq, hlc, type, v, payload FROM event WHERE server_seq IN ({','.join('?' * len(chunk))})",
                chunk,
            )
        return out

    # --- rebuilding ---------------------------------------------------------------------------------

    def clear(self) -> None:
        with self.db.atomic():
            for model in (*READ_MODELS, HqCursor):
                self.db.execute_sql(f"DELETE FROM {self.p}{model._meta.table_name[len(LIVE) :]}")

    def rebuild(self, tops: dict[str, int] | None = None) -> int:
        self.clear()
        tops = tops if tops is not None else {s: self.top(s) for s in self.stores()}
        for store_id, top in tops.items():
            self.catch_up(store_id, top=top, batch=REBUILD_BATCH)
        return self.rows("SELECT COUNT(*) FROM event")[0][0]


def rebuild(storage: Any) -> int:
    return Projector(storage).rebuild()


def catch_up_all(storage: Any, budget_s: float | None = None, pause: Callable[[float], None] | None = None) -> bool:
    pr = Projector(storage)
    return all([pr.catch_up(s, budget_s=budget_s, pause=pause) for s in pr.stores()])


def verify(storage: Any) -> list[str]:
    """Catch the read models up to each store's top, fold every event afresh into shadow tables (`hqv_*`) with
    the same code, and say where the two differ."""
    from .models import shadow_models

    live = Projector(storage)
    tops = {s: live.top(s) for s in live.stores()}
    for store_id, top in tops.items():
        live.catch_up(store_id, top=top)
    problems = [f"store {s}: the cursor is past the store's events" for s, t in tops.items() if live.cursor(s) > t]
    shadows = shadow_models()
    storage.database.create_tables(shadows, safe=True)
    try:
        Projector(storage, SHADOW).rebuild(tops)
        for model in READ_MODELS:
            name = model._meta.table_name[len(LIVE) :]
            cols = ", ".join(f.column_name for f in model._meta.sorted_fields if f.name != "id")
            for a, b, what in (
                (LIVE, SHADOW, "has rows the events do not give"),
                (SHADOW, LIVE, "lacks rows the events give"),
            ):
                n = live.rows(
                    f"SELECT COUNT(*) FROM (SELECT {cols} FROM {a}{name} EXCEPT SELECT {cols} FROM {b}{name}) AS d"
                )[0][0]
                if n:
                    problems.append(f"{LIVE}{name} {what} ({n})")
    finally:
        storage.database.drop_tables(shadows, safe=True)
    return problems


__all__ = ["HQ_MODELS", "Projector", "catch_up_all", "rebuild", "verify"]
