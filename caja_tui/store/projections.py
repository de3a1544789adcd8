"""Projections: events -> read-model rows, convergent whatever order events arrive in.

- product and user fields: last-writer-wins per field by the stamp `(hlc, device_id)`, encoded as the
  sortable text `ts` = 20-digit hlc + device id; a delete is a field that only ever becomes 1 (delete wins).
- stock: `qty` = the latest count (by stamp) + every movement stamped after it. Movements are kept in
  `stock_movement` (also the stock ledger); deltas commute, counts recompute from the ledger.
- the store's settings (`config.updated`): last-writer-wins per setting by the same stamp, one row a setting
  (store/settings.py).
- sales, refunds, cash movements: inserted once (the event itself is inserted once by `event_id`).
- a user's wrong PINs on a till (`pin_attempt`): each `pin.*` event says the whole state it leaves for its user
  on the till that wrote it; the newest by stamp is kept.

Rows are queued per SQL statement and written with `executemany` on `flush()`. Every queued statement is
order-independent; what depends on the result (the stock of a product with movements or a count, a
product's barcode index) is derived from the rows at the end of the flush.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import msgspec
from msgspec.structs import astuple

from ..domain import events as ev
from ..domain.events import PRODUCT_FIELDS, USER_FIELDS
from ..domain.payloads.users import PinAccepted, PinFailed, PinLocked, PinUnlocked
from ..domain.rights import stamp
from .settings import SQL_SETTING, setting_rows


def _lww_upsert(table: str, fields: Iterable[str]) -> str:
    fields = list(fields)
    cols = ["id"] + [c for f in fields for c in (f, f"{f}_ts")] + ["created_hlc", "updated_hlc"]
    sets = []
    for f in fields:
        sets.append(f"{f} = CASE WHEN excluded.{f}_ts > {table}.{f}_ts THEN excluded.{f} ELSE {table}.{f} END")
        sets.append(f"{f}_ts = MAX({table}.{f}_ts, excluded.{f}_ts)")
    sets.append(f"created_hlc = MAX({table}.created_hlc, excluded.created_hlc)")
    sets.append(f"updated_hlc = MAX({table}.updated_hlc, excluded.updated_hlc)")
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
        f"ON CONFLICT(id) DO UPDATE SET {', '.join(sets)}"
    )


SQL_PRODUCT = _lww_upsert("product", PRODUCT_FIELDS + ("deleted",))
SQL_USER = _lww_upsert("user", USER_FIELDS)
SQL_CUSTOMER = _lww_upsert("customer", ev.CUSTOMER_FIELDS)
# a user's wrong PINs on the till that wrote the event: the newest event's state (by stamp) wins, in any order
SQL_PIN = (
    "INSERT INTO pin_attempt (device_id, user_id, failures, locked, last_failed_at, ts) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(device_id, user_id) DO UPDATE SET failures = excluded.failures, locked = excluded.locked, "
    "last_failed_at = excluded.last_failed_at, ts = excluded.ts WHERE excluded.ts > pin_attempt.ts"
)
# the barcode index of the products in a JSON array (a flush's touched products)
SQL_BARCODES_CLEAR = "DELETE FROM barcode WHERE product_id IN (SELECT value FROM json_each(?))"
SQL_BARCODES_FILL = (
    "INSERT OR IGNORE INTO barcode (code, product_id) SELECT j.value, p.id FROM json_each(?) i "
    "JOIN product p ON p.id = i.value, json_each(COALESCE(p.barcodes, '[]')) j WHERE p.deleted IS NULL"
)
SQL_MOVEMENT = "INSERT INTO stock_movement (product_id, ts, n, delta, kind) VALUES (?, ?, ?, ?, ?)"
SQL_STOCK_ROW = "INSERT OR IGNORE INTO stock (product_id) VALUES (?)"
SQL_STOCK_COUNT = "UPDATE stock SET count_qty = ?, count_ts = ? WHERE product_id = ? AND count_ts < ?"
# a flush's moved products (a JSON array): their latest counts' stamps, read at once; a product without a stock row
# starts from its deltas, one whose count comes before them all adds them
SQL_STOCK_COUNT_TS = "SELECT product_id, count_ts FROM stock WHERE product_id IN (SELECT value FROM json_each(?))"
SQL_STOCK_NEW = "INSERT INTO stock (product_id, qty) VALUES (?, ?)"
SQL_STOCK_ADD = "UPDATE stock SET qty = qty + ? WHERE product_id = ?"
# otherwise (or after a count): the latest count plus every movement stamped after it, from the ledger
SQL_STOCK_RECOMPUTE = (
    "UPDATE stock SET qty = count_qty + COALESCE((SELECT SUM(m.delta) FROM stock_movement m "
    "WHERE m.product_id = stock.product_id AND m.ts > stock.count_ts), 0) "
    "WHERE product_id = ?"
)
SQL_STOCK_RECOMPUTE_ALL = SQL_STOCK_RECOMPUTE.replace("= ?", "IN (SELECT value FROM json_each(?))")
# a bulk load (Projector(bulk=True), a rebuild): stock and the barcode index derived once, from the whole ledger
# (clustered by product and stamp: each product's movements after its count are one range of it)
SQL_BULK_STOCK = SQL_STOCK_RECOMPUTE.removesuffix(" WHERE product_id = ?")
SQL_BULK_BARCODES = (
    "INSERT OR IGNORE INTO barcode (code, product_id) SELECT j.value, p.id "
    "FROM product p, json_each(COALESCE(p.barcodes, '[]')) j WHERE p.deleted IS NULL"
)
SQL_SALE = (
    "INSERT INTO sale (id, receipt_no, event_id, device_id, session_id, hlc, created_at, actor, subtotal, "
    "discount, tax, total, paid, change, prices_include_tax, customer_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# the columns after sale_id are SaleLine's fields, in their order (a line's row is sale_id + astuple(line))
SQL_SALE_LINE = (
    f"INSERT INTO sale_line (sale_id, {', '.join(ev.SaleLine.__struct_fields__)}) "
    f"VALUES ({', '.join('?' * (1 + len(ev.SaleLine.__struct_fields__)))})"
)
SQL_SALE_PAYMENT = "INSERT INTO sale_payment (sale_id, idx, method, amount, reference) VALUES (?, ?, ?, ?, ?)"
SQL_SALE_VOID = (
    "INSERT INTO sale_void (sale_id, event_id, device_id, session_id, created_at, actor, reason) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
SQL_REFUND = (
    "INSERT INTO refund (id, sale_id, receipt_no, event_id, device_id, session_id, hlc, created_at, "
    "actor, total, tax, method, restock, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SQL_REFUND_LINE = (
    "INSERT INTO refund_line (refund_id, line_no, sale_id, product_id, qty, amount, tax) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
SQL_SESSION_OPEN = (
    "INSERT INTO cash_session (id, device_id, opening_float, opened_at, opened_by) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET opening_float = excluded.opening_float, "
    "opened_at = excluded.opened_at, opened_by = excluded.opened_by"
)
SQL_SESSION_CLOSE = (
    "INSERT INTO cash_session (id, device_id, closed_at, closed_by, counted, expected, "
    "difference, denominations, z_number, net_sales, grand_total) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
    "closed_at = excluded.closed_at, closed_by = excluded.closed_by, counted = excluded.counted, "
    "expected = excluded.expected, difference = excluded.difference, "
    "denominations = excluded.denominations, z_number = excluded.z_number, "
    "net_sales = excluded.net_sales, grand_total = excluded.grand_total"
)
SQL_CASH_MOVE = (
    "INSERT INTO cash_movement (id, session_id, event_id, kind, amount, reason, created_at, actor) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class Projector:
    """Applies events to the read models through one sqlite3 connection, inside the caller's transaction.

    `bulk` (a rebuild into empty read models): a flush writes the rows alone; the stock of every product and the
    barcode index are derived once from the ledger and the products by `finish_bulk`, after every event.
    """

    def __init__(self, conn: sqlite3.Connection, *, bulk: bool = False) -> None:
        self.conn = conn
        self.bulk = bulk
        self.queue: dict[str, list[tuple[Any, ...]]] = {}
        self.counted: set[str] = set()
        self.barcodes_touched: set[str] = set()
        self.stocked: set[str] = set()  # bulk: the products with a movement

    @property
    def dirty(self) -> bool:
        return bool(self.queue or self.counted or self.barcodes_touched)

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        rows = self.queue.get(sql)
        if rows is None:
            rows = self.queue[sql] = []
        return rows

    def flush(self) -> None:
        queue, self.queue = self.queue, {}
        moves = queue.get(SQL_MOVEMENT)
        if moves:  # in the ledger's order: each page of it written once a flush, in turn
            moves.sort()
        for sql, rows in queue.items():
            self.conn.executemany(sql, rows)
        if self.bulk:
            if moves:
                self.stocked.update(m[0] for m in moves)
            self.counted, self.barcodes_touched = set(), set()
            return
        if moves:
            self._stock(moves)
        if self.counted:  # the products as one JSON array: one statement for them all, not one each
            ids = msgspec.json.encode(list(self.counted)).decode()
            self.counted = set()
            self.conn.execute(SQL_STOCK_RECOMPUTE_ALL, (ids,))
        if self.barcodes_touched:
            ids = msgspec.json.encode(list(self.barcodes_touched)).decode()
            self.barcodes_touched = set()
            self.conn.execute(SQL_BARCODES_CLEAR, (ids,))
            self.conn.execute(SQL_BARCODES_FILL, (ids,))

    def _stock(self, moves: list[tuple[Any, ...]]) -> None:
        """The stock of the products this flush moved (`moves`: its ledger rows, sorted, written): one read of their
        latest counts' stamps, then a product whose movements all come after its count (or with no stock row yet)
        gets their sum added, one with a count stamped after its earliest movement is recomputed from the ledger."""
        deltas: dict[str, list[Any]] = {}  # product_id -> [sum of deltas, earliest stamp]
        for pid, ts, _, delta, _ in moves:  # sorted by product, then stamp: a product's first row is its earliest
            acc = deltas.get(pid)
            if acc is None:
                deltas[pid] = [delta, ts]
            else:
                acc[0] += delta
        ids = msgspec.json.encode(list(deltas)).decode()
        counts = dict(self.conn.execute(SQL_STOCK_COUNT_TS, (ids,)).fetchall())
        new, add, recompute = [], [], []
        for pid, (d, first) in deltas.items():
            count_ts = counts.get(pid)
            if count_ts is None:  # no row yet: it starts from these deltas (no count: count_ts '')
                new.append((pid, d))
            elif count_ts < first:
                add.append((d, pid))
            else:
                recompute.append((pid,))
        if new:
            self.conn.executemany(SQL_STOCK_NEW, new)
        if add:
            self.conn.executemany(SQL_STOCK_ADD, add)
        if recompute:
            self.conn.executemany(SQL_STOCK_RECOMPUTE, recompute)

    def finish_bulk(self) -> None:
        """After a bulk load: every product's stock from its latest count and the ledger, and the barcode index."""
        self.flush()
        self.conn.executemany(SQL_STOCK_ROW, [(pid,) for pid in self.stocked])
        self.stocked = set()
        self.conn.execute(SQL_BULK_STOCK)
        self.conn.execute(SQL_BULK_BARCODES)

    def apply(
        self, event_id: str, type_: str, device_id: str, hlc: int, created_at: int, actor: str, p: ev.Payload
    ) -> None:
        ts = stamp(hlc, device_id)
        match p:
            case ev.SaleCreated():
                self._sale(p, event_id, device_id, hlc, created_at, actor, ts)
            case ev.SaleRefunded():
                self._refund(p, event_id, device_id, hlc, created_at, actor, ts)
            case ev.SaleVoided():
                self._void(p, event_id, device_id, created_at, actor, ts)
            case ev.ProductCreated():
                self._product(
                    p.product_id,
                    ts,
                    hlc,
                    hlc,
                    sku=p.sku,
                    name=p.name,
                    price=p.price,
                    tax_rate=p.tax_rate,
                    barcodes=p.barcodes,
                    category=p.category,
                )
            case ev.ProductUpdated():
                self._product(p.product_id, ts, 0, hlc, **p.changes.fields())
            case ev.ProductDeleted():
                self._product(p.product_id, ts, 0, hlc, deleted=1)
            case ev.ProductRestored():
                self._product(p.product_id, ts, 0, hlc, deleted=None)
            case ev.CustomerCreated():
                self._customer_created(p, ts, hlc)
            case ev.CustomerUpdated():
                self._lww(SQL_CUSTOMER, ev.CUSTOMER_FIELDS, p.customer_id, ts, 0, hlc, **p.changes.fields())
            case ev.ConflictResolved():
                pass  # a decision for the audit; what it changes comes as its own events
            case ev.StockAdjusted():
                self._rows(SQL_MOVEMENT).append((p.product_id, ts, 0, p.delta, f"adjust:{p.reason}"))
            case ev.StockReceived():
                self._rows(SQL_MOVEMENT).append((p.product_id, ts, 0, p.qty, "receive"))
            case ev.StockCounted():
                self._rows(SQL_STOCK_ROW).append((p.product_id,))
                self._rows(SQL_STOCK_COUNT).append((p.counted, ts, p.product_id, ts))
                self.counted.add(p.product_id)
            case ev.CashSessionOpened():
                self._rows(SQL_SESSION_OPEN).append((p.session_id, device_id, p.opening_float, created_at, actor))
            case ev.CashMoved():
                self._rows(SQL_CASH_MOVE).append(
                    (p.movement_id, p.session_id, event_id, p.kind, p.amount, p.reason, created_at, actor)
                )
            case ev.CashSessionClosed():
                self._session_closed(p, device_id, created_at, actor)
            case ev.UserCreated():
                self._user(p.user_id, ts, hlc, hlc, name=p.name, role=p.role, pin_hash=p.pin_hash, active=1)
            case ev.UserUpdated():
                self._user_updated(p, ts, hlc)
            case PinFailed() | PinLocked() | PinUnlocked() | PinAccepted():
                self._pin(p, device_id, created_at, ts)
            case ev.ConfigUpdated():
                self._rows(SQL_SETTING).extend(setting_rows(p.changes.fields(), ts, actor, created_at))
            case _:
                raise TypeError(f"no projection for {type_}")

    def _void(self, p: ev.SaleVoided, event_id: str, device_id: str, created_at: int, actor: str, ts: str) -> None:
        self._rows(SQL_SALE_VOID).append((p.sale_id, event_id, device_id, p.session_id, created_at, actor, p.reason))
        moves = self._rows(SQL_MOVEMENT)
        for n, vl in enumerate(p.lines):
            moves.append((vl.product_id, ts, n, vl.qty, "void"))

    def _customer_created(self, p: ev.CustomerCreated, ts: str, hlc: int) -> None:
        self._lww(
            SQL_CUSTOMER,
            ev.CUSTOMER_FIELDS,
            p.customer_id,
            ts,
            hlc,
            hlc,
            name=p.name,
            tax_id=p.tax_id,
            phone=p.phone,
            email=p.email,
        )

    def _user_updated(self, p: ev.UserUpdated, ts: str, hlc: int) -> None:
        fields = p.changes.fields()
        if "active" in fields:
            fields["active"] = int(fields["active"])
        self._user(p.user_id, ts, 0, hlc, **fields)

    def _pin(self, p: PinFailed | PinLocked | PinUnlocked | PinAccepted, device_id: str, at: int, ts: str) -> None:
        """The state a `pin.*` event leaves for its user on the till that wrote it (the newest stamp wins)."""
        if isinstance(p, PinFailed | PinLocked):
            self._rows(SQL_PIN).append((device_id, p.user_id, p.failures, int(isinstance(p, PinLocked)), at, ts))
        else:  # lifted by a manager, or the right PIN: the count starts again
            self._rows(SQL_PIN).append((device_id, p.user_id, 0, 0, 0, ts))

    def _session_closed(self, p: ev.CashSessionClosed, device_id: str, created_at: int, actor: str) -> None:
        self._rows(SQL_SESSION_CLOSE).append(
            (
                p.session_id,
                device_id,
                created_at,
                actor,
                p.counted,
                p.expected,
                p.difference,
                msgspec.json.encode(p.denominations, order="sorted").decode(),
                p.z_number,
                p.net_sales,
                p.grand_total,
            )
        )

    def _sale(
        self, p: ev.SaleCreated, event_id: str, device_id: str, hlc: int, created_at: int, actor: str, ts: str
    ) -> None:
        sale_id, paid, pays = p.sale_id, 0, self._rows(SQL_SALE_PAYMENT)
        for i, t in enumerate(p.payments):
            pays.append((sale_id, i, t.method, t.amount, t.reference))
            paid += t.amount
        self._rows(SQL_SALE).append(
            (
                sale_id,
                p.receipt_no,
                event_id,
                device_id,
                p.session_id,
                hlc,
                created_at,
                actor,
                p.subtotal,
                p.discount,
                p.tax,
                p.total,
                paid,
                p.change,
                int(p.prices_include_tax),
                p.customer_id,
            )
        )
        lines, moves = self._rows(SQL_SALE_LINE), self._rows(SQL_MOVEMENT)
        for n, ln in enumerate(p.lines):
            lines.append((sale_id, *astuple(ln)))  # SQL_SALE_LINE's columns are the line's fields
            moves.append((ln.product_id, ts, n, -ln.qty, "sale"))

    def _refund(
        self, p: ev.SaleRefunded, event_id: str, device_id: str, hlc: int, created_at: int, actor: str, ts: str
    ) -> None:
        self._rows(SQL_REFUND).append(
            (
                p.refund_id,
                p.sale_id,
                p.receipt_no,
                event_id,
                device_id,
                p.session_id,
                hlc,
                created_at,
                actor,
                p.total,
                p.tax,
                p.method,
                int(p.restock),
                p.reason,
            )
        )
        lines, moves = self._rows(SQL_REFUND_LINE), self._rows(SQL_MOVEMENT)
        for n, ln in enumerate(p.lines):
            lines.append((p.refund_id, ln.line_no, p.sale_id, ln.product_id, ln.qty, ln.amount, ln.tax))
            if p.restock:
                moves.append((ln.product_id, ts, n, ln.qty, "refund"))

    def _product(self, product_id: str, ts: str, created_hlc: int, hlc: int, **fields: Any) -> None:
        row: list[Any] = [product_id]
        for f in PRODUCT_FIELDS + ("deleted",):
            if f in fields:
                value = fields[f]
                row += [msgspec.json.encode(value).decode() if f == "barcodes" else value, ts]
            else:
                row += [None, ""]
        row += [created_hlc, hlc]
        self._rows(SQL_PRODUCT).append(tuple(row))
        if "barcodes" in fields or "deleted" in fields:
            self.barcodes_touched.add(product_id)

    def _user(self, user_id: str, ts: str, created_hlc: int, hlc: int, **fields: Any) -> None:
        self._lww(SQL_USER, USER_FIELDS, user_id, ts, created_hlc, hlc, **fields)

    def _lww(
        self, sql: str, all_fields: tuple[str, ...], row_id: str, ts: str, created_hlc: int, hlc: int, **fields: Any
    ) -> None:
        row: list[Any] = [row_id]
        for f in all_fields:
            row += [fields[f], ts] if f in fields else [None, ""]
        row += [created_hlc, hlc]
        self._rows(sql).append(tuple(row))
