"""What a batch of a store's stored events does to the owner's read models, as plain sums (no database).

`Batch.add(server_seq, event type, hlc, device, payload)` takes the events in server order; the projector
(projector.py) writes the sums with commutative upserts, so the read models are the same whatever order the
tills' events reached the server in:
- sales by hour (epoch hour, UTC) and by local day per product and per payment method: sums of sales, less
  refunds (at the refund's time) and voids (at the voided sale's time);
- stock: movements after the product's latest count by hlc (the count recomputes from the movements kept);
- product names: last writer wins by hlc; Z reports and settled conflicts: inserted once;
- the catalogue (sku, name, price, deleted) and the store's settings: last writer wins per field by the stamp
  (hlc, device), as the tills settle them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ...domain import events as ev
from ...domain.rights import stamp

CASH = "cash"
HOUR_MS = 3_600_000


def wall_ms(hlc: int) -> int:
    return hlc >> 16


def hour_of(hlc: int) -> int:
    return wall_ms(hlc) // HOUR_MS


@lru_cache(maxsize=4096)
def day_of_hour(hour: int) -> int:
    """The day number (proleptic ordinal), in the server's time zone, of an epoch hour (time zones whose offset
    is whole hours, nearly all of them, put a whole hour in one day)."""
    return dt.datetime.fromtimestamp(hour * 3600).date().toordinal()


def local_day(ms: int) -> int:
    return day_of_hour(ms // HOUR_MS)


@dataclass
class Batch:
    hours: dict[int, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )  # sales, amount, refunds
    products: dict[tuple[int, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )  # qty, amount
    methods: dict[tuple[int, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    sales: dict[str, tuple[int | None, int]] = field(default_factory=dict)  # sale_id -> (server_seq, voided) to write
    names: dict[str, tuple[str, int]] = field(default_factory=dict)  # product -> (name, hlc), the newest
    moves: list[tuple[str, int, int]] = field(default_factory=list)  # (product, hlc, delta)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # product -> (hlc, counted), the newest
    zreports: list[tuple] = field(default_factory=list)
    resolved: set[str] = field(default_factory=set)  # event ids of manual conflicts a manager settled
    # product -> field -> (stamp, value), the newest of the batch; product -> the newest product event's hlc
    catalogue: dict[str, dict[str, tuple[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    product_hlc: dict[str, int] = field(default_factory=dict)
    settings: dict[str, tuple[str, Any, str]] = field(default_factory=dict)  # field -> (stamp, value, actor)

    def add(
        self, server_seq: int, device_id: str, event_id: str, hlc: int, p: Any, known: dict, actor: str = ""
    ) -> None:
        """Fold one event. `known`: sale_id -> (server_seq of its sale.created or None, voided, its payload or
        None) for the sales of this batch's voids and sales (loaded before, updated here)."""
        match p:
            case ev.ProductCreated():
                self.product(p.product_id, stamp(hlc, device_id), hlc, sku=p.sku, name=p.name, price=p.price)
                self.name(p.product_id, p.name, hlc)
            case ev.ProductUpdated():
                changed = {k: v for k, v in p.changes.fields().items() if k in ("sku", "name", "price")}
                self.product(p.product_id, stamp(hlc, device_id), hlc, **changed)
                if isinstance(changed.get("name"), str):
                    self.name(p.product_id, changed["name"], hlc)
            case ev.ProductDeleted():
                self.product(p.product_id, stamp(hlc, device_id), hlc, deleted=1)
            case ev.ProductRestored():
                self.product(p.product_id, stamp(hlc, device_id), hlc, deleted=0)
            case ev.ConfigUpdated():
                st = stamp(hlc, device_id)
                for name, value in p.changes.fields().items():
                    if name not in self.settings or self.settings[name][0] < st:
                        self.settings[name] = (st, value, actor)
            case ev.SaleCreated():
                seen = known.get(p.sale_id)
                if seen is not None and seen[1]:  # voided before it arrived: no sale, but its goods left the shelf
                    self.sales[p.sale_id] = (server_seq, 1)
                    self.moves.extend((line.product_id, hlc, -line.qty) for line in p.lines)
                    return
                known[p.sale_id] = (server_seq, 0, (hlc, p))
                self.sales[p.sale_id] = (server_seq, 0)
                self.sale(hlc, p, 1)
            case ev.SaleVoided():
                seen = known.get(p.sale_id)
                if seen is not None and seen[1]:
                    return
                if seen is not None and seen[2] is not None:
                    self.sale(seen[2][0], seen[2][1], -1)
                known[p.sale_id] = (seen[0] if seen else None, 1, None)
                self.sales[p.sale_id] = (seen[0] if seen else None, 1)
                self.moves.extend((line.product_id, hlc, line.qty) for line in p.lines)
            case ev.SaleRefunded():
                self.refund(hlc, p)
            case ev.StockAdjusted():
                self.moves.append((p.product_id, hlc, p.delta))
            case ev.StockReceived():
                self.moves.append((p.product_id, hlc, p.qty))
            case ev.StockCounted():
                if p.product_id not in self.counts or self.counts[p.product_id][0] < hlc:
                    self.counts[p.product_id] = (hlc, p.counted)
            case ev.ConflictResolved():
                self.resolved.add(p.event_id)
            case ev.CashSessionClosed():
                self.zreports.append(
                    (
                        event_id,
                        device_id,
                        p.session_id,
                        p.z_number,
                        wall_ms(hlc),
                        p.counted,
                        p.expected,
                        p.difference,
                        p.net_sales,
                    )
                )

    def product(self, product_id: str, st: str, hlc: int, **fields: Any) -> None:
        held = self.catalogue[product_id]
        for name, value in fields.items():
            if name not in held or held[name][0] < st:
                held[name] = (st, value)
        self.product_hlc[product_id] = max(self.product_hlc.get(product_id, 0), hlc)

    def name(self, product_id: str, name: str, hlc: int) -> None:
        if product_id not in self.names or self.names[product_id][1] < hlc:
            self.names[product_id] = (name, hlc)

    def sale(self, hlc: int, p: ev.SaleCreated, sign: int) -> None:
        """A sale's figures (sign 1), or their reversal when it is voided (sign -1); the stock it took only once
        (the void's own lines put back what goes back on the shelf)."""
        h = self.hours[hour_of(hlc)]
        h[0] += sign
        h[1] += sign * p.total
        day = local_day(wall_ms(hlc))
        for line in p.lines:
            row = self.products[(day, line.product_id)]
            row[0] += sign * line.qty
            row[1] += sign * line.amount
            if sign > 0:
                self.moves.append((line.product_id, hlc, -line.qty))
                self.name(line.product_id, line.name, hlc)  # the name the till sold it under, at that time
        change = p.change
        for t in p.payments:
            amount = t.amount
            if change and t.method == CASH:
                amount, change = amount - min(change, amount), change - min(change, amount)
            m = self.methods[(day, t.method)]
            m[0] += sign
            m[1] += sign * amount

    def refund(self, hlc: int, p: ev.SaleRefunded) -> None:
        h = self.hours[hour_of(hlc)]
        h[1] -= p.total
        h[2] += p.total
        day = local_day(wall_ms(hlc))
        m = self.methods[(day, p.method)]
        m[1] -= p.total
        for line in p.lines:
            row = self.products[(day, line.product_id)]
            row[0] -= line.qty
            row[1] -= line.amount
            if p.restock:
                self.moves.append((line.product_id, hlc, line.qty))
