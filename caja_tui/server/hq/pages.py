"""The content of each owner's page: its figures, charts and tables (queries.Table), for the HTML templates
and for the CSV exports, built by one function per page so both always show the same rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import svg
from .queries import TOP_DAYS, Reader, Table, ago, local_midnight, money, now_ms, when
from .settings import settings_of


def overview(r: Reader, stores: list[str]) -> dict[str, Any]:
    now = now_ms()
    week_start = local_midnight(dt.datetime.now().weekday())
    t = Table(
        "stores",
        "Stores",
        [
            "store",
            "sales today",
            "today",
            "this week",
            "tills online",
            "oldest unsynced (at most)",
            "refused events",
            "conflicts waiting",
            "clock warnings",
        ],
    )
    tills = r.tills(stores, now)
    sales = r.sales_since(stores, week_start, local_midnight())
    waiting = r.conflicts_waiting(stores)
    for store in stores:
        active = [d for d in tills[store] if not d["revoked_at"]]
        n_today, today, week = sales.get(store, (0, 0, 0))
        silent = min((d["last_seen"] or 0 for d in active if not d["online"]), default=None)
        t.rows.append(
            [store, n_today, money(today), money(week), f"{sum(d['online'] for d in active)} of {len(active)}",
             ago(silent, now) if silent is not None else "-", sum(d["refused"] for d in tills[store]),
             waiting.get(store, 0), sum(d["skew_warn"] for d in active)]
        )  # fmt: skip
        t.links.append(f"/hq/stores/{store}")
    return {"title": "All stores", "tables": [t]}


def store(r: Reader, store_id: str) -> dict[str, Any]:
    now = now_ms()
    first, last = r.day_range(TOP_DAYS)
    hours = r.hours_today(store_id)
    days = r.days(store_id)
    methods = Table("payment_methods", f"Payment methods, last {TOP_DAYS} days", ["method", "payments", "amount"])
    for method, n, amount in r.rows(
        "SELECT method, SUM(payments), SUM(amount) FROM hq_method_day WHERE store_id = ? AND day BETWEEN ? AND ? "
        "GROUP BY method ORDER BY SUM(amount) DESC",
        (store_id, first, last),
    ):
        methods.rows.append([method, int(n), money(amount)])
    top = Table("top_products", f"Top products, last {TOP_DAYS} days", ["product", "quantity", "amount"])
    best = r.rows(
        "SELECT product_id, SUM(qty), SUM(amount) FROM hq_product_day WHERE store_id = ? AND day BETWEEN ? AND ? "
        "GROUP BY product_id ORDER BY SUM(amount) DESC, product_id LIMIT 20",
        (store_id, first, last),
    )
    names = r.names(store_id, [b[0] for b in best])
    for product_id, qty, amount in best:
        top.rows.append([names.get(product_id) or product_id, int(qty), money(amount)])
    level = settings_of(r, store_id).low_stock
    low = Table("low_stock", f"Low stock (at most {level})", ["product", "in stock"])
    for product_id, name, qty in r.rows(
        "SELECT product_id, name, qty FROM hq_product WHERE store_id = ? AND qty <= ? ORDER BY qty, name LIMIT 100",
        (store_id, level),
    ):
        low.rows.append([name or product_id, int(qty)])
    tills = tills_table(r, store_id, now)
    z = zreports(r, store_id, None)
    return {
        "title": f"Store {store_id}",
        "charts": [
            ("Sales by hour today", svg.bars("Sales by hour today", hours, money)),
            ("Sales by day, last 30 days", svg.bars("Sales by day, last 30 days", days, money)),
        ],
        "tables": [
            tills,
            methods,
            top,
            low,
            z,
            Table(
                "hours_today", "Sales by hour today", ["hour", "amount"], [[h, money(v)] for h, v in hours], folded=True
            ),
            Table(
                "days", "Sales by day, last 30 days", ["day", "amount"], [[d, money(v)] for d, v in days], folded=True
            ),
        ],
    }


def tills_table(r: Reader, store_id: str, now: int) -> Table:
    t = Table("tills", "Tills", ["till", "state", "last seen", "last seq", "lag", "clock skew", "refused events"])
    for d in r.tills([store_id], now)[store_id]:
        state = "revoked" if d["revoked_at"] else ("online" if d["online"] else "offline")
        t.rows.append(
            [
                d["device_id"],
                state,
                ago(d["last_seen"], now),
                d["last_seq"],
                _secs(d["lag_ms"]),
                _secs(d["skew"]),
                d["refused"],
            ]
        )
        t.links.append(f"/hq/stores/{store_id}/tills/{d['device_id']}")
    return t


def zreports(r: Reader, store_id: str, device_id: str | None) -> Table:
    t = Table(
        "z_reports", "Z reports", ["till", "Z", "closed", "expected cash", "counted cash", "difference", "net sales"]
    )
    where, params = ("AND device_id = ?", (store_id, device_id)) if device_id else ("", (store_id,))
    for dev, z, closed, expected, counted, diff, net in r.rows(
        "SELECT device_id, z_number, closed_at, expected, counted, difference, net_sales FROM hq_z_report "
        f"WHERE store_id = ? {where} ORDER BY closed_at DESC LIMIT 60",
        params,
    ):
        t.rows.append([dev, z, when(closed), money(expected), money(counted), money(diff), money(net)])
    return t


def till(r: Reader, store_id: str, d: dict) -> dict[str, Any]:
    now = now_ms()
    facts = Table(
        "till",
        "This till",
        ["state", "last seen", "last seq", "lag", "clock skew", "signing key"],
        [
            [
                "revoked " + when(d["revoked_at"]) if d["revoked_at"] else ("online" if d["online"] else "offline"),
                f"{when(d['last_seen'])} ({ago(d['last_seen'], now)} ago)" if d["last_seen"] else "never",
                d["last_seq"],
                _secs(d["lag_ms"]),
                _secs(d["skew"]),
                "registered" if d["key"] else "none yet",
            ]
        ],
    )
    refused = Table("refused", "Refused events", ["seq", "code", "reason", "received"])
    for seq, code, message, received in r.rows(
        "SELECT seq, code, message, received_at FROM rejection WHERE store_id = ? AND device_id = ? "
        "ORDER BY seq DESC LIMIT 200",
        (store_id, d["device_id"]),
    ):
        refused.rows.append([seq, code, message, when(received)])
    return {
        "title": f"Till {d['device_id']} of store {store_id}",
        "tables": [facts, refused, zreports(r, store_id, d["device_id"])],
        "device": d,
    }


def _secs(ms: int | None) -> str:
    return "-" if ms is None else f"{ms / 1000:+.1f} s"
