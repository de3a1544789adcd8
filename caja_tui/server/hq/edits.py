"""The owner's edits: the catalogue (search; a product's price or name changed in one store or several at once)
and a store's settings. Each change is an event of the store's HQ device (device.py), pulled by its tills.

A product is the same product in several stores when it has the same SKU there (each store's catalogue has
its own product ids). Money is typed with two decimals, as the pages show it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import falcon

from ...domain.events import MAX_PRICE, ProductChanges, ProductUpdated
from ...domain.payloads.settings import CONTROL_CHARS
from ...protocol.keys import DeviceKey
from . import device, settings
from .owners import Owner
from .queries import Reader, Table, money, when
from .routes import Hq, HqError, send_csv

PRICE = re.compile(r"^\s*(\d{1,8})(?:[.,](\d{1,2}))?\s*$")
CONTROL = re.compile(f"[{CONTROL_CHARS}]")  # never in a name or SKU, as in the store's settings
SHOWN = 100  # products a search shows
FORM_FIELDS = 1000  # a change for several stores has a checkbox and the version seen per store


def parse_price(text: str) -> int:
    """'12.5' -> 1250 minor units; ValueError naming what it takes."""
    m = PRICE.match(text)
    if m is None:
        raise ValueError("Price: a number with at most two decimals, such as 12.50")
    value = int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))
    if value > MAX_PRICE:
        raise ValueError(f"Price: at most {money(MAX_PRICE)}")
    return value


def actor_of(owner: Owner) -> str:
    return f"owner:{owner.name}"[:64]


def _outcome(store_id: str, results: list) -> str:
    bad = [r for r in results if r.status == "rejected"]
    if bad:
        return f"{store_id}: refused ({bad[0].code}: {bad[0].message})"
    if any(r.status == "conflict" for r in results):
        return (
            f"{store_id}: changed; a till had changed it since this page was shown (kept as a conflict; yours is newer)"
        )
    return f"{store_id}: changed"


class Edits:
    """What the edit pages share: the HQ key (loaded once per worker) and the catch-up after an edit."""

    def __init__(self, hq: Hq) -> None:
        self.hq = hq
        self._key: DeviceKey | None = None

    def key(self) -> DeviceKey:
        path = self.hq.server.hq_key
        if not path:
            raise HqError(503, "this server was started without an HQ key: owners' edits are off")
        if self._key is None:
            self._key = device.load_key(Path(path))
        return self._key

    def emit(self, store_id: str, owner: Owner, payloads: list, after: int = 0) -> str:
        try:
            results = device.emit(self.hq.storage, self.key(), store_id, actor_of(owner), payloads, after=after)
        except device.HqKeyError as exc:
            raise HqError(409, str(exc)) from None
        Reader(self.hq.storage).pr.catch_up(store_id, budget_s=1.0)  # the page after the edit shows it
        return _outcome(store_id, results)


class Catalogue:
    """`/hq/catalogue?q=`: the owner's stores' products found by name or SKU, one row per SKU."""

    def __init__(self, hq: Hq) -> None:
        self.hq = hq

    def content(self, req: falcon.Request, owner: Owner) -> dict[str, Any]:
        reader, stores, behind = self.hq.visible(owner)
        q = CONTROL.sub("", req.get_param("q") or "").strip()[:64]
        t = Table("products", "Products" + (f" matching “{q}”" if q else ""), ["SKU", "name", "price by store"])
        if stores:
            like = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            lower = "LOWER" if self.hq.storage.is_pg else "py_lower"  # SQLite's LOWER folds ASCII only
            rows = reader.rows(
                "SELECT sku, store_id, name, price FROM hq_catalogue WHERE deleted = 0 AND sku IN (SELECT sku FROM "
                f"hq_catalogue WHERE deleted = 0 AND store_id IN ({','.join('?' * len(stores))}) AND "
                f"({lower}(name) LIKE ? ESCAPE '\\' OR {lower}(sku) LIKE ? ESCAPE '\\') ORDER BY sku LIMIT ?) "
                f"AND store_id IN ({','.join('?' * len(stores))}) ORDER BY sku, store_id, product_id",
                (*stores, like, like, SHOWN * 4, *stores),
            )
            grouped: dict[str, list[tuple[str, str, int]]] = {}
            for sku, store_id, name, price in rows:
                grouped.setdefault(sku, []).append((store_id, name, price))
            for sku, found in list(grouped.items())[:SHOWN]:
                names = " / ".join(dict.fromkeys(n for _, n, _ in found))
                t.rows.append([sku, names, ", ".join(f"{s} {money(p)}" for s, _, p in found)])
                t.links.append("/hq/catalogue/item?sku=" + quote(sku, safe=""))
        return {
            "title": "Catalogue",
            "tables": [t],
            "q": q,
            "behind": behind,
            "csv_base": "/hq/catalogue/csv",
            "csv_query": "?" + urlencode({"q": q}) if q else "",
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        session, owner = self.hq.need(req)
        ctx = self.content(req, owner)
        self.hq.render(req, resp, "catalogue.html", owner=owner, csrf=session.csrf, **ctx)

    def on_get_csv(self, req: falcon.Request, resp: falcon.Response, table: str) -> None:
        _, owner = self.hq.need(req)
        send_csv(resp, self.content(req, owner), table, "catalogue")


class Item:
    """`/hq/catalogue/item?sku=`: one product in each of the owner's stores that has it, and the form that
    changes its price or name in the stores ticked."""

    def __init__(self, hq: Hq, edits: Edits) -> None:
        self.hq, self.edits = hq, edits

    def found(self, reader: Reader, owner: Owner, sku: str) -> list[tuple]:
        stores = owner.visible(reader.stores())
        if not sku or len(sku) > 64 or CONTROL.search(sku) or not stores:
            raise HqError(404, "no such product")
        rows = reader.rows(
            "SELECT c.store_id, c.product_id, c.name, c.price, c.hlc, p.qty FROM hq_catalogue c LEFT JOIN hq_product "
            "p ON p.store_id = c.store_id AND p.product_id = c.product_id WHERE c.sku = ? AND c.deleted = 0 AND "
            f"c.store_id IN ({','.join('?' * len(stores))}) ORDER BY c.store_id, c.product_id",
            (sku, *stores),
        )
        if not rows:
            raise HqError(404, "no such product")
        return rows

    def content(self, reader: Reader, owner: Owner, sku: str, **extra: Any) -> dict[str, Any]:
        rows = self.found(reader, owner, sku)
        t = Table("stores", "In each store", ["store", "name", "price", "in stock", "last changed"])
        for store_id, _, name, price, hlc, qty in rows:
            t.rows.append([store_id, name, money(price), int(qty or 0), when(hlc >> 16)])
            t.links.append(f"/hq/stores/{store_id}")
        return {
            "title": f"Product {sku}",
            "tables": [t],
            "sku": sku,
            "stores": list(dict.fromkeys(r[0] for r in rows)),
            "seen": {r[0]: r[4] for r in rows},  # the version shown, per store: what a change says it saw
            "now_name": rows[0][2],
            "now_price": money(rows[0][3]).replace(",", ""),
            "csv_base": "/hq/catalogue/item/csv",
            "csv_query": "?" + urlencode({"sku": sku}),
            **extra,
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        session, owner = self.hq.need(req)
        reader = Reader(self.hq.storage)
        self.hq.catch_up(reader, owner.visible(reader.stores()))
        ctx = self.content(reader, owner, req.get_param("sku") or "")
        self.hq.render(req, resp, "item.html", owner=owner, csrf=session.csrf, **ctx)

    def on_get_csv(self, req: falcon.Request, resp: falcon.Response, table: str) -> None:
        _, owner = self.hq.need(req)
        reader = Reader(self.hq.storage)
        sku = req.get_param("sku") or ""
        send_csv(resp, self.content(reader, owner, sku), table, "product")

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        session, owner, data = self.hq.posted(req, FORM_FIELDS)
        reader = Reader(self.hq.storage)
        self.hq.catch_up(reader, owner.visible(reader.stores()))  # what the tills changed since the page was shown
        sku = data.get("sku", "")
        found = self.found(reader, owner, sku)
        rows = {r[0]: r for r in found}
        chosen = [s for s in rows if data.get(f"store_{s}") == "1"]
        twice = sorted(s for s in chosen if sum(r[0] == s for r in found) > 1)
        error = ""
        wanted: dict[str, Any] = {}
        name = data.get("name", "").strip()
        if name:
            if len(name) > 200 or CONTROL.search(name):
                error = "Name: at most 200 characters, no control characters"
            wanted["name"] = name
        if data.get("price", "").strip():
            try:
                wanted["price"] = parse_price(data["price"])
            except ValueError as exc:
                error = str(exc)
        if not error and not wanted:
            error = "Give a new name or a new price"
        if not error and not chosen:
            error = "Tick the stores to change it in"
        if not error and twice:
            error = f"{', '.join(twice)}: several products have SKU {sku} there; change them on a till"
        said: list[str] = []
        if not error:
            for store_id in chosen:
                _, product_id, old_name, old_price, hlc, _ = rows[store_id]
                changes = {k: v for k, v in wanted.items() if {"name": old_name, "price": old_price}[k] != v}
                if not changes:
                    said.append(f"{store_id}: already so")
                    continue
                seen = data.get(f"seen_{store_id}", "")
                base = min(hlc, int(seen)) if re.fullmatch(r"[0-9]{1,19}", seen) else hlc
                p = ProductUpdated(product_id=product_id, changes=ProductChanges(**changes), base_hlc=base)
                said.append(self.edits.emit(store_id, owner, [p], after=hlc))
        status = 400 if error else 200
        ctx = self.content(reader, owner, sku, error=error, done=said)
        self.hq.render(req, resp, "item.html", status, owner=owner, csrf=session.csrf, **ctx)


class StoreSettingsPage:
    """`/hq/stores/{id}/settings`: the store's settings, and the form that changes them."""

    def __init__(self, hq: Hq, edits: Edits) -> None:
        self.hq, self.edits = hq, edits

    def content(self, owner: Owner, store_id: str, **extra: Any) -> dict[str, Any]:
        reader = Reader(self.hq.storage)
        store_id = self.hq.store_of(owner, reader, store_id)
        self.hq.catch_up(reader, [store_id])
        current = settings.settings_of(reader, store_id)
        values = dict(current.values)
        values["receipt_header"] = "\n".join(values["receipt_header"])
        return {
            "title": f"Settings of store {store_id}",
            "store": store_id,
            "values": values,
            "who": {f: settings.who(current, f) for f in settings.LABELS},
            "labels": settings.LABELS,
            "seen": current.base_hlc,
            "tables": [],
            **extra,
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response, store_id: str) -> None:
        session, owner = self.hq.need(req)
        self.hq.render(req, resp, "settings.html", owner=owner, csrf=session.csrf, **self.content(owner, store_id))

    def on_post(self, req: falcon.Request, resp: falcon.Response, store_id: str) -> None:
        session, owner, data = self.hq.posted(req)
        reader = Reader(self.hq.storage)
        store_id = self.hq.store_of(owner, reader, store_id)
        try:
            wanted = settings.read_form(data)
        except settings.SettingsFormError as exc:
            ctx = self.content(owner, store_id, error=str(exc))
            ctx["values"] = {**ctx["values"], **{k: data.get(k, "") for k in settings.LABELS}}
            return self.hq.render(req, resp, "settings.html", 400, owner=owner, csrf=session.csrf, **ctx)
        self.hq.catch_up(reader, [store_id])
        current = settings.settings_of(reader, store_id)
        if data.get("seen") != str(current.base_hlc):
            ctx = self.content(
                owner,
                store_id,
                error="These settings were changed since this page was shown (see who set each, below): check them "
                "and save again",
            )
            return self.hq.render(req, resp, "settings.html", 409, owner=owner, csrf=session.csrf, **ctx)
        event = settings.change(current, wanted)
        done = self.edits.emit(store_id, owner, [event]) if event is not None else f"{store_id}: nothing changed"
        ctx = self.content(owner, store_id, done=[done])
        self.hq.render(req, resp, "settings.html", owner=owner, csrf=session.csrf, **ctx)


def mount(app: falcon.App, hq: Hq) -> Catalogue:
    edits = Edits(hq)
    catalogue = Catalogue(hq)
    item = Item(hq, edits)
    app.add_route("/hq/catalogue", catalogue)
    app.add_route("/hq/catalogue/csv/{table}", catalogue, suffix="csv")
    app.add_route("/hq/catalogue/item", item)
    app.add_route("/hq/catalogue/item/csv/{table}", item, suffix="csv")
    app.add_route("/hq/stores/{store_id}/settings", StoreSettingsPage(hq, edits))
    return catalogue
