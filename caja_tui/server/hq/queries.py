"""What the owner's pages show, read from the hq read models and the server's device, event and rejection
tables; every table a page shows is a `Table`, rendered as HTML (templates/) and as CSV (routes.py) alike.

Times are shown in the server's time zone; money in minor units with two decimals (the server does not know a
store's currency: that comes with the store settings, `config.*` events, later).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from .fold import HOUR_MS
from .projector import Projector

ONLINE_MS = 5 * 60 * 1000  # a till heard from within 5 minutes is online
SKEW_WARN_MS = 60 * 1000  # a clock more than a minute off is worth a warning
LOW_STOCK = 5  # the till's default low-stock level, until store settings (config.* events) carry one


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

    def devices(self, store_id: str) -> list[dict]:
        rows = self.rows(
            "SELECT device_id, last_seen, clock_skew_ms, revoked_at, public_key FROM device WHERE store_id = ? "
            "ORDER BY device_id",
            (store_id,),
        )
        return [dict(zip(("device_id", "last_seen", "skew", "revoked_at", "key"), r, strict=True)) for r in rows]

    def sales_between(self, store_id: str, start: dt.datetime, end: dt.datetime | None = None) -> tuple[int, int]:
        end_h = _hour(end) if end else 2**62
        got = self.rows(
            "SELECT COALESCE(SUM(sales), 0), COALESCE(SUM(amount), 0) FROM hq_sales_hour WHERE store_id = ? "
            "AND hour >= ? AND hour < ?",
            (store_id, _hour(start), end_h),
        )[0]
        return int(got[0]), int(got[1])

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
        out: dict[str, int] = {(first + dt.timedelta(days=i)).strftime("%m-%d"): 0 for i in range(n)}
        for hour, amount in by_hour:
            day = dt.datetime.fromtimestamp(hour * 3600).strftime("%m-%d")
            if day in out:
                out[day] += int(amount)
        return list(out.items())

    def day_range(self, n: int) -> tuple[int, int]:
        today = dt.date.today().toordinal()
        return today - n + 1, today

    def health(self, store_id: str, device: dict, now: int) -> dict:
        last = self.rows(
            "SELECT seq, hlc, received_at FROM event WHERE store_id = ? AND device_id = ? ORDER BY seq DESC LIMIT 1",
            (store_id, device["device_id"]),
        )
        refused = self.rows(
            "SELECT COUNT(*) FROM rejection WHERE store_id = ? AND device_id = ?", (store_id, device["device_id"])
        )[0][0]
        seq, hlc, received = last[0] if last else (0, None, None)
        online = bool(device["last_seen"]) and now - device["last_seen"] < ONLINE_MS and not device["revoked_at"]
        return {
            **device,
            "last_seq": seq,
            "lag_ms": (received - (hlc >> 16)) if hlc is not None else None,  # how late its latest event arrived
            "online": online,
            "refused": int(refused),
            "skew_warn": device["skew"] is not None and abs(device["skew"]) > SKEW_WARN_MS,
        }
