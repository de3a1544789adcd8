"""The status line at the foot of every screen: cashier, session, connectivity, unsynced events, the clock's
health and the printer's notice. A mixin of CajaApp, which holds its state (throughput, notice, _unsynced,
_ticks, _seen_version) and calls refresh_status every STATUS_EVERY_S seconds and after each write."""

from __future__ import annotations

import logging
import sqlite3

from ..i18n import _
from ..store.sqlite import StoreError
from .widgets import StatusLine

log = logging.getLogger("caja.tui")


class StatusLineMixin:
    def refresh_status(self, *, changed: bool = False) -> None:
        """The status line. The database is only asked again when something changed: this till wrote
        (`changed`), or another connection (the sync process) committed, which PRAGMA data_version tells
        in one cheap call. Idle, the till does almost nothing every tick."""
        from ..sync.metrics import QUICK_LIMIT, saved, unsynced

        version = self.store.data_version()
        self._ticks += 1
        ticks = self._ticks
        if changed or version != self._seen_version:
            self._seen_version = version
            self._figures = saved(self.store)
            quick = unsynced(self.store, limit=QUICK_LIMIT)
            if quick < QUICK_LIMIT:
                self._unsynced = quick
            else:  # a long backlog: show "10000+" now, the exact count from a worker thread (never a stall)
                known = isinstance(self._unsynced, int) and self._unsynced >= QUICK_LIMIT
                self._unsynced = self._unsynced if known else f"{QUICK_LIMIT}+"
                self.run_worker(self._count_unsynced, thread=True, exclusive=True, group="unsynced")
            self._refused = self.store.count_refused() if self.cfg.sync.server_url else 0
            with self.store.read() as tx:
                self._session_open = tx.open_session() is not None
            self._clock_problem = self.clock_problem()
        elif ticks % 30 == 0:  # a minute with nothing written: the clock may have been set meanwhile
            self._clock_problem = self.clock_problem()
        figures = self._figures
        self.throughput.append(float(figures.get("events_per_min", 0.0)))
        status_line = self._status_line()
        if status_line is None:
            return
        lan = self._peers_in_touch()
        if not self.cfg.sync.server_url:
            connectivity = _("LAN {n}").format(n=lan) if lan else _("no sync server")
        elif self.sync_proc is not None and self.sync_proc.poll() is not None and not self._sync_elsewhere():
            connectivity = _("sync stopped")
        elif self._sync_elsewhere():  # the service's engine syncs this database; its figures are its own
            connectivity = _("sync service: {state}").format(state=_(figures.get("connectivity", "unknown")))
        elif self.sync_proc is not None and figures.get("pid") != self.sync_proc.pid:
            connectivity = _(
                "connecting"
            )  # the figures are an earlier engine's: this till's child has said nothing yet
        else:
            connectivity = _(figures.get("connectivity", "unknown"))
            if lan and figures.get("connectivity") != "online":  # in touch with the shop, not the server
                connectivity = _("LAN {n}").format(n=lan)
        status_line.show(
            cashier=self.user.name if self.user else "-",
            session=_("session open") if self._session_open else _("no session"),
            connectivity=connectivity,
            unsynced=self._unsynced if self.cfg.sync.server_url else None,
            clock=self._clock_problem
            or (_("CLOCK WRONG: check the date and time") if figures.get("clock_warning") else None),
            notice=self.notice,
            refused=self._refused,
        )

    def _count_unsynced(self) -> None:
        from ..sync.metrics import unsynced

        try:
            with self.side_store() as store:
                n = unsynced(store)
        except (StoreError, sqlite3.Error) as exc:  # busy or gone: the status line keeps "10000+" until the next change
            log.warning("counting unsynced events: %s", exc)
            return
        self.call_from_thread(self._counted, n)

    def _counted(self, n: int) -> None:
        self._unsynced = n
        self.refresh_status()

    def _status_line(self) -> StatusLine | None:
        for screen in reversed(self.screen_stack):
            found = screen.query("#status")
            if found:
                return found.first(StatusLine)
        return None

    def _peers_in_touch(self) -> int:
        """How many of the shop's other tills the sync process heard from lately (peers/gossip.py's file)."""
        if not self.cfg.peers.enabled:
            return 0
        from ..peers.state import in_touch, read_state

        return in_touch(read_state(self.store.path))

    def _sync_elsewhere(self) -> bool:
        """The child exited because a sync service already runs for this till (it holds the lock)."""
        return self.sync_proc is not None and self.sync_proc.returncode == 0

    def clock_problem(self) -> str | None:
        """Why the till's clock cannot be trusted (see clockcheck), or None."""
        newest = self.store.newest_event_time()
        return self.clock_check(int(self.clock() * 1000), newest)
