"""The store's settings (F11): the shop's name, the receipt's header and footer, the tax mode, the low-stock level;
each with where its value comes from. Anyone may look; a change needs a manager (their PIN when a cashier is
signed in), and is the store's: a `config.updated` event every till of the store takes."""

from __future__ import annotations

import datetime
from typing import Any

from textual.app import ComposeResult
from textual.widgets import DataTable, Label

from ...application.settings import SettingSource, StoreSettings, check_settings, update_settings
from ...domain.payloads.settings import HEADER_LINES
from ...i18n import N_, _
from ..base import CajaScreen
from ..widgets import shorten
from .dialogs import AskScreen, MenuScreen

LABELS = {
    "shop_name": N_("Shop name"),
    "receipt_footer": N_("Receipt footer"),
    "prices_include_tax": N_("Prices include tax"),
    "low_stock": N_("Low stock at"),
}
# the table's rows: (setting, header line or None)
ROWS: list[tuple[str, int | None]] = [
    ("shop_name", None),
    *[("receipt_header", i) for i in range(HEADER_LINES)],
    ("receipt_footer", None),
    ("prices_include_tax", None),
    ("low_stock", None),
]
WIDTHS = (20, 32, 22)


class SettingsScreen(CajaScreen):
    NAME = "settings"

    def compose_body(self) -> ComposeResult:
        yield Label(_("The store's settings, the same on all its tills. Enter changes one (a manager)."))
        yield DataTable(id="list", cursor_type="row", zebra_stripes=False)
        yield Label("", id="message")

    def on_mount(self) -> None:
        table = self.query_one("#list", DataTable)
        for title, width in zip((N_("Setting"), N_("Value"), N_("From")), WIDTHS, strict=True):
            table.add_column(_(title), width=width)
        self.reload()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.reload()  # a setting pulled meanwhile shows when the screen comes back
        self.query_one("#list", DataTable).focus()

    def reload(self) -> None:
        self.current: StoreSettings = self.app.settings()
        table = self.query_one("#list", DataTable)
        row = table.cursor_row
        table.clear()
        for name, line in ROWS:
            label = _("Header line {n}").format(n=line + 1) if line is not None else _(LABELS[name])
            source = self.current.sources.get(name, SettingSource("default"))
            table.add_row(label, shorten(self._shown(name, line), WIDTHS[1]), shorten(self._source(source), WIDTHS[2]))
        table.move_cursor(row=min(max(row, 0), len(ROWS) - 1))

    def _shown(self, name: str, line: int | None) -> str:
        value: Any = getattr(self.current, name)
        if line is not None:
            return value[line] if line < len(value) else ""
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        return str(value)

    def _source(self, source: SettingSource) -> str:
        if source.kind == "file":
            return _("this till's file")
        if source.kind == "default":
            return _("default")
        when = datetime.datetime.fromtimestamp(source.at / 1000, self.app.tz).strftime("%d/%m %H:%M")
        return f"{self.app.name_of(source.actor)} {when}"

    # --- changing one --------------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        row = event.cursor_row
        if 0 <= row < len(ROWS):
            self.edit(*ROWS[row])

    def edit(self, name: str, line: int | None) -> None:
        if name == "prices_include_tax":
            items = [("y", _("Yes: shelf prices include tax"), "yes"), ("n", _("No: tax is added at the till"), "no")]
            self.app.push_screen(
                MenuScreen(_(LABELS[name]), items), lambda a: a is not None and self.save(name, a == "yes")
            )
            return
        header = list(self.current.receipt_header)
        if line is not None:
            question, default = _("Receipt header, line {n}").format(n=line + 1), self._shown(name, line)
        else:
            question, default = _(LABELS[name]), str(getattr(self.current, name))

        def parse(text: str) -> Any:
            if name == "low_stock":
                return self.app.parse_int(text, low=0)
            if line is not None:  # the header with this line changed (lines after the last are left out)
                lines = header + [""] * (line + 1 - len(header))
                lines[line] = text
                return check_settings({name: lines})[name]
            return check_settings({name: text})[name]

        self.app.push_screen(AskScreen(question, parse=parse, default=default), lambda v: self._asked(name, v))

    def _asked(self, name: str, value: Any) -> None:
        if value is not None:
            self.save(name, value)

    def save(self, name: str, value: Any) -> None:
        def write(manager_id: str) -> None:
            changed = update_settings(self.app.store, manager_id, {name: value})
            self.reload()
            self.say(_("saved: the store's tills take it at their next sync") if changed else _("nothing changed"))
            if changed:
                self.app.after_write()

        self.app.with_manager(_("change the store's settings"), lambda manager: write(manager.id))
