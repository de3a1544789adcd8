"""Products: instant search, create, edit (price, tax, barcodes, category), delete."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Label

from ...application import products
from ...application.ports import ProductView
from ...domain import money
from ...i18n import N_, _
from ..base import CajaScreen
from ..widgets import Entry, shorten
from .form import Field, FormScreen

SHOWN = 200


class ListScreen(CajaScreen):
    """A search line over a table: type to narrow, arrows move, Enter opens the highlighted row."""

    COLUMNS: list[tuple[str, int]] = []  # (title, width at 80 columns)
    FLEX = 1  # the column (a name) that takes the width a wider terminal has beyond 80
    PLACEHOLDER = ""

    def compose_body(self) -> ComposeResult:
        yield Entry(placeholder=_(self.PLACEHOLDER), id="search")
        yield DataTable(id="list", cursor_type="row", zebra_stripes=False)
        yield Label("", id="message")

    def on_mount(self) -> None:
        table = self.query_one("#list", DataTable)
        extra = max(0, self.app.size.width - 80)
        self.widths = [w + (extra if i == self.FLEX else 0) for i, (_t, w) in enumerate(self.COLUMNS)]
        for (title, _w), width in zip(self.COLUMNS, self.widths, strict=True):
            table.add_column(_(title), width=width)
        self.rows: list = []
        self.reload()

    def on_screen_resume(self) -> None:
        self.query_one("#search", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "search":
            self.reload()

    def reload(self) -> None:
        table = self.query_one("#list", DataTable)
        row = table.cursor_row
        table.clear()
        self.rows = self.fetch(self.query_one("#search", Input).value)
        for item in self.rows:
            table.add_row(*self.cells(item))
        if self.rows:
            table.move_cursor(row=min(max(row, 0), len(self.rows) - 1))

    def fetch(self, text: str) -> list:
        raise NotImplementedError

    def cells(self, item) -> list[str]:
        raise NotImplementedError

    def current(self):
        row = self.query_one("#list", DataTable).cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def on_key(self, event) -> None:
        table = self.query_one("#list", DataTable)
        if event.key in ("up", "down", "pageup", "pagedown") and self.rows and self.focused is not table:
            event.stop()
            step = {"up": -1, "down": 1, "pageup": -10, "pagedown": 10}[event.key]
            table.move_cursor(row=min(max(table.cursor_row + step, 0), len(self.rows) - 1))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.current() is not None:
            self.open(self.current())

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.current() is not None:
            self.open(self.current())

    def open(self, item) -> None:
        pass


class ProductsScreen(ListScreen):
    NAME = "products"
    BINDINGS = [Binding("f5", "new", N_("New")), Binding("f8", "delete", N_("Delete"))]
    COLUMNS = [
        (N_("SKU"), 9),
        (N_("Name"), 24),
        (N_("Barcode"), 13),
        (N_("Price"), 10),
        (N_("Tax %"), 5),
        (N_("Qty"), 5),
    ]
    PLACEHOLDER = N_("search by name, SKU, category or barcode; Enter edits")

    def fetch(self, text: str) -> list[ProductView]:
        with self.app.store.read() as tx:
            return tx.search_products(text, limit=SHOWN)

    def cells(self, p: ProductView) -> list[str]:
        w = self.widths
        return [
            shorten(p.sku, w[0]),
            shorten(p.name, w[1]),
            p.barcodes[0] if p.barcodes else "",
            self.app.money(p.price),
            money.format_rate(p.tax_rate),
            str(p.stock),
        ]

    def _fields(self, p: ProductView | None) -> list[Field]:
        fmt = self.app.money.number
        return [
            Field(name="sku", label=_("SKU"), value=p.sku if p else ""),
            Field(name="name", label=_("Name"), value=p.name if p else ""),
            Field(
                name="price",
                label=_("Price"),
                value=fmt(p.price).replace(self.app.money.group, "") if p else "",
                parse=self.app.money.parse,
            ),
            Field(
                name="tax_rate",
                label=_("Tax %"),
                value=money.format_rate(p.tax_rate) if p else "16",
                parse=money.parse_rate,
            ),
            Field(
                name="barcodes",
                label=_("Barcodes"),
                value=", ".join(p.barcodes) if p else "",
                parse=lambda t: [b.strip() for b in t.replace(";", ",").split(",") if b.strip()],
            ),
            Field(name="category", label=_("Category"), value=p.category if p else ""),
        ]

    def action_new(self) -> None:
        def save(values):
            return products.create_product(self.app.store, self.app.user.id, **values)

        # what is on the shelf already: a new product does not show as LOW (0) until it is counted
        on_hand = Field(
            name="stock", label=_("In stock"), value="0", parse=lambda t: self.app.parse_int(t or "0", low=0)
        )
        self.app.push_screen(FormScreen(_("New product"), [*self._fields(None), on_hand], save), self._saved)

    def open(self, p: ProductView) -> None:
        def save(values):
            return products.update_product(self.app.store, self.app.user.id, p.id, values, base_hlc=p.updated_hlc)

        self.app.push_screen(FormScreen(_("Edit {name}").format(name=p.name[:30]), self._fields(p), save), self._saved)

    def _saved(self, p: ProductView | None) -> None:
        if p is not None:
            self.reload()
            self.say(_("saved {name}").format(name=p.name))
            self.app.after_write()

    def action_delete(self) -> None:
        p = self.current()
        if p is None:
            return
        from .dialogs import MenuScreen

        items = [("y", _("Yes, delete {name}").format(name=p.name[:30]), "yes"), ("n", _("No"), "no")]

        def chosen(answer: str | None) -> None:
            if answer == "yes" and self.app.guard(
                lambda: products.delete_product(self.app.store, self.app.user.id, p.id) or True, self
            ):
                self.reload()
                self.say(_("deleted {name}").format(name=p.name))
                self.app.after_write()

        self.app.push_screen(MenuScreen(_("Delete this product?"), items), chosen)
