"""What the owner's pages show, read from the hq read models and the server's device, event and rejection
tables; every table a page shows is a `Table`, rendered as HTML (templates/) and as CSV (routes.py) alike.

Times are shown in the server's time zone; money in minor units with two decimals (the server does not know a
store's currency, which each till's config holds). The tills are the store's devices but HQ (the server's own).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from .device import HQ
from .fold import HOUR_MS, day_of_hour
from .projector import Projector

ONLINE_MS = 5 * 60 * 1000  # a till heard from within 5 minutes is online
SKEW_WARN_MS = 60 * 1000  # a clock more than a minute off is worth a warning
TOP_DAYS = 7  # top products and payment methods: the last 7 days (30 days of 1,000 products is 30,000 rows a load)


@dataclass
class Table:
    name: str  # its CSV name: [a-z_]+
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)  # per row: where its first cell leads, if anywhere
    folded: bool = False  # shown folded (<details>): the figures of a chart above it


def money(v: int | None) -> str:
    if v is None:
        return ""
    sign, v = ("-" if v < 0 else ""), abs(int(v))
    return f"{sign}{v // 100:,}.{v % 100:02d}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def when(ms: int | None) -> str:
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M") if ms else "never"


def ago(ms: int | None, now: int) -> str:
    if not ms:
        return "never"
    s = max(0, (now - ms) // 1000)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s // size} {unit}"
    return f"{s} s"


def local_midnight(days_back: int = 0) -> dt.datetime:
    today = dt.datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    return (today - dt.timedelta(days=days_back)).astimezone()


def _hour(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000) // HOUR_MS


class Reader:
    def __init__(self, storage: Any) -> None:
        self.pr = Projector(storage)
        self.rows = self.pr.rows

    def stores(self) -> list[str]:
        return self.pr.stores()

    def tills(self, stores: list[str], now: int) -> dict[str, list[dict]]:
        """Each store's tills and their health, in one query: last seen, clock skew, the latest event (its seq,
        and how late it arrived: `lag_ms`), refused events."""
        out: dict[str, list[dict]] = {s: [] for s in stores}
        if not stores:
            return out
        rows = self.rows(
            "SELECT d.store_id, d.device_id, d.last_seen, d.clock_skew_ms, d.revoked_at, d.public_key, e.seq, e.hlc, "
            "e.received_at, (SELECT COUNT(*) FROM rejection r WHERE r.store_id = d.store_id "
            "AND r.device_id = d.device_id) FROM device d LEFT JOIN event e ON e.store_id = d.store_id "
            "AND e.device_id = d.device_id AND e.seq = (SELECT MAX(x.seq) FROM event x WHERE x.store_id = d.store_id "
            f"AND x.device_id = d.device_id) WHERE d.store_id IN ({','.join('?' * len(stores))}) "
            "AND d.device_id <> ? ORDER BY d.store_id, d.device_id",
            (*stores, HQ),
        )
        for store, device, seen, skew, revoked, key, seq, hlc, received, refused in rows:
            out[store].append(
                {
                    "device_id": device,
                    "last_seen": seen,
                    "skew": skew,
                    "revoked_at": revoked,
                    "key": key,
                    "last_seq": seq or 0,
                    "lag_ms": (received - (hlc >> 16)) if hlc is not None else None,
                    "online": bool(seen) and now - seen < ONLINE_MS and not revoked,
                    "refused": int(refused),
                    "skew_warn": skew is not None and abs(skew) > SKEW_WARN_MS,
                }
            )
        return out

    def conflicts_waiting(self, stores: list[str]) -> dict[str, int]:
        """Each store's manual conflicts no manager has settled yet."""
        if not stores:
            return {}
        rows = self.rows(
            "SELECT c.store_id, COUNT(*) FROM \"conflict\" c WHERE c.resolution = 'manual' "
            f"AND c.store_id IN ({','.join('?' * len(stores))}) AND NOT EXISTS (SELECT 1 FROM hq_resolved r "
            "WHERE r.store_id = c.store_id AND r.event_id = c.event_id) GROUP BY c.store_id",
            stores,
        )
        return {store: int(n) for store, n in rows}

    def sales_since(self, stores: list[str], week: dt.datetime, today: dt.datetime) -> dict[str, tuple[int, int, int]]:
        """Each store's (sales today, amount today, amount since `week`), in one query."""
        if not stores:
            return {}
        rows = self.rows(
            "SELECT store_id, COALESCE(SUM(CASE WHEN hour >= ? THEN sales ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN hour >= ? THEN amount ELSE 0 END), 0), COALESCE(SUM(amount), 0) "
            f"FROM hq_sales_hour WHERE hour >= ? AND store_id IN ({','.join('?' * len(stores))}) GROUP BY store_id",
            (_hour(today), _hour(today), _hour(min(week, today)), *stores),
        )
        return {store: (int(n), int(a), int(w)) for store, n, a, w in rows}

    def hours_today(self, store_id: str) -> list[tuple[str, int]]:
        start = local_midnight()
        got = dict(
            self.rows(
                "SELECT hour, amount FROM hq_sales_hour WHERE store_id = ? AND hour >= ? AND hour < ?",
                (store_id, _hour(start), _hour(start) + 24),
            )
        )
        return [(f"{h:02d}", int(got.get(_hour(start) + h, 0))) for h in range(24)]

    def days(self, store_id: str, n: int = 30) -> list[tuple[str, int]]:
        first = local_midnight(n - 1)
        by_hour = self.rows(
            "SELECT hour, amount FROM hq_sales_hour WHERE store_id = ? AND hour >= ?", (store_id, _hour(first))
        )
        start = first.date().toordinal()
        sums = [0] * n
        for hour, amount in by_hour:
            i = day_of_hour(hour) - start
            if 0 <= i < n:
                sums[i] += int(amount)
        return [((first + dt.timedelta(days=i)).strftime("%m-%d"), sums[i]) for i in range(n)]

    def names(self, store_id: str, products: list[str]) -> dict[str, str]:
        if not products:
            return {}
        return dict(
            self.rows(
                f"SELECT product_id, name FROM hq_product WHERE store_id = ? AND product_id IN ({','.join('?' * len(products))})",
                (store_id, *products),
            )
        )

    def day_range(self, n: int) -> tuple[int, int]:
        today = dt.date.today().toordinal()
        return today - n + 1, today
