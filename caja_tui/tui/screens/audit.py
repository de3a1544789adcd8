"""Audit: the event log, filtered by type, cashier and date, and the hash chain's verification status."""

from __future__ import annotations

import datetime
import json

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Label

from ...application.reports import day_bounds
from ...domain.errors import DomainError
from ...domain.events import PAYLOAD_TYPES
from ...i18n import N_, _
from ..base import CajaScreen
from ..widgets import Entry, shorten
from .dialogs import TextScreen

SHOWN = 300


class AuditScreen(CajaScreen):
    NAME = "audit"
    BINDINGS = [Binding("f5", "verify", N_("Verify chain")), Binding("f8", "show", N_("Show event"))]

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="filters"):
            yield Entry(placeholder=_("type, e.g. sale"), id="f-type")
            yield Entry(placeholder=_("cashier id"), id="f-actor")
            yield Entry(placeholder=_("date YYYY-MM-DD"), id="f-date")
        yield Label("", id="chain")
        yield DataTable(id="log", cursor_type="row", zebra_stripes=False)
        yield Label("", id="message")

    def on_mount(self) -> None:
        t = self.query_one("#log", DataTable)
        for title, width in (
            (_("Time"), 14),
            (_("Till"), 5),
            (_("Seq"), 6),
            (_("Type"), 18),
            (_("Who"), 8),
            (_("Sync"), 8),
            (_("Hash"), 8),
        ):
            t.add_column(title, width=width)
        self.rows: list[tuple] = []
        self._typing = None  # the pause-in-typing timer of the filters
        self.show_chain_status()
        self.reload()

    def on_screen_resume(self) -> None:
        self.query_one("#f-type", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        # typing a filter: look once the typing pauses, in the background (a rare type may mean reading
        # back through a million events)
        if self._typing is not None:
            self._typing.stop()
        self._typing = self.set_timer(0.3, self.reload)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#log", DataTable).focus()

    def reload(self) -> None:
        start = end = None
        day_text = self.query_one("#f-date", Input).value.strip()
        if day_text:
            try:
                start, end = day_bounds(datetime.date.fromisoformat(day_text), self.app.tz)
            except ValueError:
                self.say(_("the date must look like 2026-11-27"), error=True)
                return
        self.say("")
        wanted = self.query_one("#f-type", Input).value.strip().lower()
        types = None
        if wanted:  # any part of the tag or of its name in the screen's language ("venta", "stock", "ajuste")
            types = [t for t in sorted(PAYLOAD_TYPES) if wanted in t or wanted in type_name(t).lower()]
            if not types:
                self.say(_("no kind of event matches '{text}'").format(text=wanted), error=True)
        filters = {
            "types": types,
            "actor": self.query_one("#f-actor", Input).value.strip(),
            "start_ms": start,
            "end_ms": end,
        }
        self.run_worker(lambda: self._fetch(filters), thread=True, exclusive=True, group="audit")

    def _fetch(self, filters: dict) -> None:
        with self.app.side_store() as store:
            with store.read() as tx:
                rows = tx.event_log(limit=SHOWN, **filters)
        self.app.call_from_thread(self.show_rows, rows)

    def show_rows(self, rows: list[tuple]) -> None:
        self.rows = rows
        t = self.query_one("#log", DataTable)
        t.clear()
        for created, device, seq, type_, actor, status, hash_, _payload in self.rows:
            when = datetime.datetime.fromtimestamp(created / 1000, self.app.tz).strftime("%m-%d %H:%M:%S")
            t.add_row(when, device[:5], str(seq), shorten(type_name(type_), 18), actor[:8], _(status), hash_[:8])
        if len(self.rows) == SHOWN:
            self.say(_("showing the newest {n}; narrow the filters to see older events").format(n=SHOWN))

    def action_show(self) -> None:
        row = self.query_one("#log", DataTable).cursor_row
        if not 0 <= row < len(self.rows):
            return
        created, device, seq, type_, actor, status, hash_, payload = self.rows[row]
        data = json.loads(payload)
        body = json.dumps(data, indent=2, ensure_ascii=False)
        head = f"{type_name(type_)} ({type_})  {device} #{seq}\n{_('by')} {actor}  {_(status)}\n{_('hash')} {hash_}\n"
        if isinstance(data, dict) and isinstance(data.get("product_id"), str):  # the product by its name too
            with self.app.store.read() as tx:
                product = tx.product(data["product_id"])
            if product is not None:
                head += _("product") + f": {product.name} ({product.sku})\n"
        head += "\n"
        self.app.push_screen(TextScreen(head + body, title=_("Event")))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_show()

    # --- the chain --------------------------------------------------------------------------------------------

    def show_chain_status(self) -> None:
        raw = self.app.store.meta("last_verify")
        label = self.query_one("#chain", Label)
        if not raw:
            label.update(_("Chain: not verified yet. F5 verifies it (the till keeps working)."))
            return
        last = json.loads(raw)
        when = datetime.datetime.fromtimestamp(last["at"], self.app.tz).strftime("%Y-%m-%d %H:%M")
        if last["ok"]:
            label.update(
                _("Chain verified {when}: {events} events, tills: {devices}, no problems").format(
                    when=when, events=last["events"], devices=last["devices"]
                )
            )
        else:
            label.update(_chain_failure(when, last["problems"]))
        label.set_class(not last["ok"], "error")

    def action_verify(self) -> None:
        self.query_one("#chain", Label).update(_("Verifying the chain and the read models..."))
        self.run_worker(self._verify, thread=True, exclusive=True, group="verify")

    def _verify(self) -> None:
        from ...store.maintenance import verify

        try:
            with self.app.side_store() as store:
                report = verify(store)
                store.set_meta(
                    "last_verify",
                    json.dumps(
                        {
                            "at": self.app.clock(),
                            "ok": report.ok,
                            "events": report.events,
                            "devices": report.devices,
                            "problems": report.problems[:5],
                        }
                    ),
                )
        except (DomainError, OSError, Exception) as exc:  # noqa: BLE001 - shown, never a traceback
            self.app.call_from_thread(self.say, _("could not verify: {error}").format(error=exc), error=True)
            return
        self.app.call_from_thread(self.show_chain_status)


def _chain_failure(when: str, problems: list[str]) -> str:
    """What failed, in the screen's language, and what to do next (the full report is `caja verify`'s)."""
    if all(p.startswith("read model ") for p in problems):
        return _(
            "Chain CHECK FAILED {when}: the events are intact, but the tables built from them differ. "
            "Run `caja rebuild`, then verify again."
        ).format(when=when)
    return _(
        "Chain CHECK FAILED {when}: {count} problem(s) in the event log. Run `caja verify` for the list "
        "and keep a copy of the database for the owner."
    ).format(when=when, count=len(problems))


# What each kind of event is called on the screen (the tag itself stays what is stored and filtered on).
TYPE_NAMES = {
    "sale.created": N_("sale"),
    "sale.refunded": N_("refund"),
    "sale.voided": N_("sale voided"),
    "stock.adjusted": N_("stock adjusted"),
    "stock.counted": N_("stock counted"),
    "stock.received": N_("goods received"),
    "cash.session_opened": N_("session opened"),
    "cash.moved": N_("cash in/out"),
    "cash.session_closed": N_("session closed (Z)"),
    "product.created": N_("product created"),
    "product.updated": N_("product changed"),
    "product.deleted": N_("product deleted"),
    "product.restored": N_("product restored"),
    "user.created": N_("user created"),
    "user.updated": N_("user changed"),
    "pin.failed": N_("wrong PIN"),
    "pin.locked": N_("PIN locked"),
    "pin.unlocked": N_("PIN lockout lifted"),
    "pin.accepted": N_("right PIN after wrong"),
    "customer.created": N_("customer created"),
    "customer.updated": N_("customer changed"),
    "conflict.resolved": N_("conflict resolved"),
}


def type_name(tag: str) -> str:
    """The event's kind in the screen's language (a type this release does not know: its tag)."""
    return _(TYPE_NAMES[tag]) if tag in TYPE_NAMES else tag
