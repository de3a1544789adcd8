"""Sync: live figures with a throughput sparkline, the events the server refused and why, and the conflicts
waiting for a manager (Enter on one resolves it)."""

from __future__ import annotations

import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Static

from ...application.conflicts import resolve_conflict
from ...domain.errors import DomainError
from ...i18n import N_, _
from ...store.outbox import Outbox
from ..base import CajaScreen
from ..widgets import sparkline
from .dialogs import AskScreen, MenuScreen


class SyncScreen(CajaScreen):
    NAME = "sync"
    BINDINGS = [
        Binding("f5", "resolve", N_("Resolve conflict")),
        Binding("f8", "focus_next_table", N_("Next list")),
        Binding("r", "retry_refused", N_("Send refused again")),
        Binding("v", "revert_refused", N_("Revert refused")),
        Binding("p", "pair", N_("Pair a till")),
    ]

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="sync-top"):
            yield Static("", id="figures", markup=False)
            with Vertical(id="spark-box"):
                yield Label(_("events a minute"), classes="hint")
                yield Static("", id="spark", markup=False)
        if not self.app.cfg.sync.server_url:
            yield Label(
                _(
                    "No sync server is set: this till keeps everything in its own file, and sells as usual. To sync "
                    "with a server, set server_url and token under [sync] in {config} (README: Syncing tills)."
                ).format(config=self.app.cfg.path or "caja.toml"),
                id="no-server",
                classes="hint",
                markup=False,
            )
        yield Label(_("Refused by the server"), classes="section")
        yield DataTable(id="failed", cursor_type="row")
        yield Label(_("Conflicts"), classes="section")
        yield DataTable(id="conflicts", cursor_type="row")
        if self._peers_on():
            yield Label(_("Tills of this shop on the LAN"), classes="section")
            yield DataTable(id="peers", cursor_type="row")
        yield Label("", id="message")

    def _peers_on(self) -> bool:
        peers = self.app.cfg.peers
        return peers.enabled and bool(self.app.cfg.sync.server_url or peers.addresses)

    def on_mount(self) -> None:
        t = self.query_one("#failed", DataTable)
        t.add_column(_("Seq"), width=7)
        t.add_column(_("Type"), width=18)
        t.add_column(_("Reason"), width=45)
        c = self.query_one("#conflicts", DataTable)
        c.add_column(_("When"), width=11)
        c.add_column(_("Type"), width=16)
        c.add_column(_("State"), width=44)
        if self._peers_on():
            t = self.query_one("#peers", DataTable)
            t.add_column(_("Till"), width=8)
            t.add_column(_("Address"), width=21)
            t.add_column(_("Last seen"), width=9)
            t.add_column(_("Behind"), width=7)
            t.add_column(_("Error"), width=24)
        self.conflicts: list[tuple] = []
        self.refused: list[tuple] = []
        self.set_interval(2.0, self.gather)

    def on_screen_resume(self) -> None:
        self.gather()
        self.query_one("#conflicts", DataTable).focus()

    def gather(self) -> None:
        """The figures count the whole outbox (a GROUP BY over every event of this till): a worker thread on
        its own connection does it, so a till with a million events still answers keys at once here."""
        if self.is_current:
            self.run_worker(self._gather, thread=True, exclusive=True, group="sync-figures")

    def _gather(self) -> None:
        from ...peers.state import read_state
        from ...sync.metrics import status

        with self.app.side_store() as store:
            m = status(store)
            with store.read() as tx:
                failed = tx.failed_events(50)
            conflicts = Outbox(store).conflicts()
        peers = read_state(self.app.store.path) if self._peers_on() else []
        self.app.call_from_thread(self.draw, m, failed, conflicts, peers)

    def draw(self, m, failed: list[tuple], conflicts: list[tuple], peers: list[dict] | None = None) -> None:
        if not self.is_mounted:
            return
        if peers is not None and self._peers_on():
            self._draw_peers(peers)
        age = "-" if m.oldest_pending_age_s is None else f"{m.oldest_pending_age_s:.0f} s"
        last = (
            "-"
            if not m.last_sync_at
            else datetime.datetime.fromtimestamp(m.last_sync_at / 1000, self.app.tz).strftime("%H:%M:%S")
        )
        rows = [
            (_("connectivity"), _(m.connectivity) if self.app.cfg.sync.server_url else _("no sync server")),
            (_("pending"), str(m.pending)),
            (_("synced"), str(m.synced)),
            (_("failed"), str(m.failed)),
            (_("conflicts"), f"{m.conflicts} ({m.conflicts_open} " + _("open") + ")"),
            (_("error rate"), f"{m.error_rate * 100:.0f} %"),
            (_("events a minute"), f"{m.events_per_min:.0f}"),
            (_("bytes a second"), f"{m.bytes_per_s:.0f}"),
            (_("last sync"), last),
            (_("oldest pending"), age),
        ]
        if m.last_error:
            rows.append((_("last error"), m.last_error[:40]))
        width = max(len(k) for k, _v in rows)
        self.query_one("#figures", Static).update("\n".join(f"{k:<{width}} {v}" for k, v in rows))
        self.query_one("#spark", Static).update(sparkline(list(self.app.throughput), 24))
        t = self.query_one("#failed", DataTable)
        row = t.cursor_row
        t.clear()
        if bool(failed) != bool(self.refused):
            self.refused = failed
            self.show_keys()
        self.refused = failed
        for seq, type_, reason, _event_id in failed:
            t.add_row(str(seq), type_, reason[:45])
        if failed:
            t.move_cursor(row=min(max(row, 0), len(failed) - 1))
        self.conflicts = conflicts
        c = self.query_one("#conflicts", DataTable)
        row = c.cursor_row
        c.clear()
        for _eid, _other, resolution, type_, _aggregate, detected, resolved_at, by, outcome in self.conflicts:
            when = datetime.datetime.fromtimestamp(detected / 1000, self.app.tz).strftime("%m-%d %H:%M")
            state = (
                _("resolved by {who}: {outcome}").format(who=by, outcome=outcome)
                if resolved_at
                else _("WAITING FOR A MANAGER")
                if resolution == "manual"
                else _("settled automatically")
            )
            c.add_row(when, type_, state)
        if self.conflicts:
            c.move_cursor(row=min(max(row, 0), len(self.conflicts) - 1))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only the keys that apply: sending again and reverting while the server has refused something."""
        if action in ("retry_refused", "revert_refused"):
            return bool(self.refused)
        if action == "pair":
            return self.app.cfg.peers.enabled
        return True

    def _draw_peers(self, peers: list[dict]) -> None:
        t = self.query_one("#peers", DataTable)
        t.clear()
        now = datetime.datetime.now(self.app.tz)
        for p in peers:
            seen = (
                datetime.datetime.fromtimestamp(p["last_seen"] / 1000, self.app.tz).strftime("%H:%M:%S")
                if p.get("last_seen")
                else _("never")
            )
            if p.get("last_seen") and now.timestamp() * 1000 - p["last_seen"] > 86_400_000:
                seen = datetime.datetime.fromtimestamp(p["last_seen"] / 1000, self.app.tz).strftime("%m-%d")
            t.add_row(
                p.get("device_id") or "?", p["address"], seen, str(p.get("behind", 0)), (p.get("error") or "")[:24]
            )

    def action_focus_next_table(self) -> None:
        self.focus_next(DataTable)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "conflicts":
            self.action_resolve()

    def action_resolve(self) -> None:
        row = self.query_one("#conflicts", DataTable).cursor_row
        if not 0 <= row < len(self.conflicts):
            self.say(_("no conflict chosen"), error=True)
            return
        event_id, _other, resolution, type_, aggregate, *_rest = self.conflicts[row]
        items = [
            ("k", _("Keep theirs (the other till's change stands)"), "keep"),
            ("a", _("Apply ours (this till's change after all)"), "apply"),
        ]

        def chosen(outcome: str | None) -> None:
            if outcome is None:
                return
            self.app.with_manager(_("resolve a conflict"), lambda manager: self._resolve(manager, event_id, outcome))

        self.app.push_screen(
            MenuScreen(_("Conflict on {what}").format(what=f"{type_} {aggregate[:30]}"), items), chosen
        )

    def _resolve(self, manager, event_id: str, outcome: str) -> None:
        resolve_conflict(self.app.store, manager.id, event_id, outcome, note="resolved at the till")
        self.say(_("conflict resolved: {outcome}").format(outcome=outcome))
        self.app.after_write()
        self.gather()

    def action_retry_refused(self) -> None:
        """A manager puts the events the server refused back in the queue (after a fix on the server's side)."""
        self.app.with_manager(_("send refused events again"), self._retry_refused)

    def action_revert_refused(self) -> None:
        """A manager undoes the chosen refused event here with its compensating event (domain/compensate.py)."""
        row = self.query_one("#failed", DataTable).cursor_row
        if not 0 <= row < len(self.refused):
            self.say(_("no refused event chosen (F8 moves to its list)"), error=True)
            return
        _seq, type_, _reason, event_id = self.refused[row]
        self.app.with_manager(_("revert a refused {type}").format(type=type_), lambda m: self._revert(m, event_id))

    def _revert(self, manager, event_id: str) -> None:
        from ...application.refused import revert_refused

        done = revert_refused(self.app.store, manager.id, event_id)
        self.say(_("reverted: {type} written; this till is back in step for it").format(type=done))
        self.app.after_write()
        self.gather()

    def action_pair(self) -> None:
        """Pair with another till of the shop (peers/pairing.py): show a code here, or type the other's."""
        items = [
            ("s", _("Show a pairing code (on the till the other one will reach)"), "show"),
            ("t", _("Type the code another till shows"), "type"),
        ]

        def chosen(how: str | None) -> None:
            if how == "show":
                self.app.with_manager(_("pair a till"), self._show_code)
            elif how == "type":
                self.app.with_manager(_("pair a till"), self._ask_address)

        self.app.push_screen(MenuScreen(_("Pair a till"), items), chosen)

    def _show_code(self, _manager) -> None:
        from ...peers.pairing import new_offer

        code = new_offer(self.app.store)
        port = self.app.cfg.peers.listen.rpartition(":")[2]
        self.say(
            _(
                "Pairing code {code} (5 minutes). On the other till: Sync, P, type this till's address {address} and the code."
            ).format(code=f"{code[:3]}-{code[3:]}", address=f"{_lan_address()}:{port}")
        )
        self.app.ensure_sync_process()

    def _ask_address(self, _manager) -> None:
        from ...config import split_address

        def parse(text: str):
            try:
                return split_address(text if ":" in text else f"{text}:7870")
            except ValueError as exc:
                raise DomainError("BAD_ADDRESS", str(exc)) from None

        def got_address(address) -> None:
            if address is not None:
                self.app.push_screen(
                    AskScreen(_("The code the other till shows"), placeholder="123-456"),
                    lambda c: self._pair(address, c),
                )

        self.app.push_screen(
            AskScreen(
                _("The other till's address (shown with its code)"), parse=parse, placeholder="192.168.1.21:7870"
            ),
            got_address,
        )

    def _pair(self, address, code: str | None) -> None:
        if code is None:
            return
        self.say(_("pairing with {address}...").format(address=f"{address[0]}:{address[1]}"))
        self.run_worker(lambda: self._pair_now(address, code), thread=True, exclusive=True, group="pair")

    def _pair_now(self, address, code: str) -> None:
        from ...peers.pairing import PairingError, pair_with

        port = int(self.app.cfg.peers.listen.rpartition(":")[2] or 7870)
        try:
            with self.app.side_store() as store:
                device = pair_with(store, address[0], address[1], code, port)
        except PairingError as exc:
            self.app.call_from_thread(self.say, str(exc), error=True)
            return
        self.app.call_from_thread(self.say, _("paired with till {device}").format(device=device))
        self.app.call_from_thread(self.app.ensure_sync_process)

    def _retry_refused(self, manager) -> None:
        n = Outbox(self.app.store).retry_failed()
        self.say(_("{n} refused events put back in the queue").format(n=n))
        self.app.after_write()
        self.gather()


def _lan_address() -> str:
    """This machine's address on the LAN (the one its default route leaves by; nothing is sent)."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"
