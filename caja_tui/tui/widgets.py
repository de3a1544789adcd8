"""Reusable widgets: the status line that is never hidden."""

from __future__ import annotations

from textual.widgets import Static


class StatusLine(Static):
    """Cashier, session, connectivity and the count of events not yet on the server."""

    def show(self, *, cashier: str, session: str, connectivity: str, unsynced: int, clock_warning: bool) -> None:
        warn = "  CLOCK WRONG" if clock_warning else ""
        self.update(f" {cashier} | {session} | {connectivity} | {unsynced} not synced{warn}")
        self.set_class(clock_warning, "warning")
