"""Reports: the day's sales by hour as a chart, and the X, Z and day reports on screen."""

from __future__ import annotations

import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from ...application import reports
from ...i18n import N_, _
from ..base import CajaScreen
from ..widgets import bar_chart
from .dialogs import AskScreen


class ReportsScreen(CajaScreen):
    NAME = "reports"
    BINDINGS = [
        Binding("f5", "day", N_("Day")),
        Binding("f8", "z", N_("Z report")),
        Binding("x", "x", N_("X report")),
    ]

    def compose_body(self) -> ComposeResult:
        yield Label("", id="report-title")
        with VerticalScroll(id="report"):
            yield Static("", id="chart", markup=False)
            yield Static("", id="report-text", markup=False)
        yield Label("", id="message")

    def on_mount(self) -> None:
        self.show_day(self.app.now().date())

    def on_screen_resume(self) -> None:
        self.query_one("#report", VerticalScroll).focus()

    def _args(self) -> dict:
        return {
            "currency": self.app.cfg.till.currency,
            "exponent": self.app.cfg.till.currency_exponent,
            "tz": self.app.tz,
        }

    def chart(self, r: reports.Report) -> str:
        """Sales by hour as horizontal bars; the hours without sales between the first and last are shown too."""
        if not r.by_hour:
            return _("No sales in this period.")
        by = {h.hour: h for h in r.by_hour}
        first, last = min(by), max(by)
        rows = [
            (
                f"{h:02d}h",
                by[h].total if h in by else 0,
                f"{self.app.money(by[h].total)} ({by[h].sales})" if h in by else "",
            )
            for h in range(first, last + 1)
        ]
        width = max(40, self.size.width - 4)
        return _("Sales by hour") + "\n" + "\n".join(bar_chart(rows, width))

    def show(self, r: reports.Report, title: str) -> None:
        self.query_one("#report-title", Label).update(title)
        self.query_one("#chart", Static).update(self.chart(r))
        text = reports.render(r, "text", language=self.app.cfg.till.language)
        self.query_one("#report-text", Static).update("\n" + text)

    def show_day(self, day: datetime.date) -> None:
        r = self.app.guard(lambda: reports.day_report(self.app.store, day, **self._args()), self)
        if r is not None:
            self.show(r, _("Day report {day} (every till this one knows of)").format(day=day.isoformat()))

    def action_day(self) -> None:
        def parse(text: str) -> datetime.date:
            text = text.strip()
            if not text:
                return self.app.now().date()
            try:
                return datetime.date.fromisoformat(text)
            except ValueError:
                from ...domain.errors import DomainError

                raise DomainError("BAD_DATE", _("the date must look like 2026-11-27")) from None

        self.app.push_screen(
            AskScreen(_("Which day? (YYYY-MM-DD, Enter: today)"), parse=parse),
            lambda day: day is not None and self.show_day(day),
        )

    def action_x(self) -> None:
        r = self.app.guard(lambda: reports.x_report(self.app.store, **self._args()), self)
        if r is not None:
            self.show(r, _("X report (the open session so far)"))

    def action_z(self) -> None:
        with self.app.store.read() as tx:
            last = tx.last_z()[0]
        if not last:
            self.say(_("this till has not closed a session yet: there is no Z report"), error=True)
            return
        self.app.push_screen(
            AskScreen(
                _("Which Z number? (Enter: the last, #{n})").format(n=last),
                parse=lambda t: self.app.parse_int(t, high=last) if t.strip() else last,
            ),
            lambda z: z is not None and self._show_z(z),
        )

    def _show_z(self, z: int) -> None:
        r = self.app.guard(lambda: reports.z_report(self.app.store, z, **self._args()), self)
        if r is not None:
            self.show(r, _("Z report #{z}").format(z=z))
