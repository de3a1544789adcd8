"""Reusable widgets: the status line that is never hidden, the key bar, ASCII charts for the Linux console."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.content import Content
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, Static

from ..i18n import _

# Eight levels from ASCII only: the Linux console's font has no block elements beyond a few.
SPARK_LEVELS = " .,:-=+*#"


class StatusLine(Static):
    """Cashier, session, connectivity and the count of events not yet on the server."""

    def show(
        self,
        *,
        cashier: str,
        session: str,
        connectivity: str,
        unsynced: int | str | None,
        clock: str | None,
        notice: str = "",
        refused: int = 0,
    ) -> None:
        clock_warning = clock is not None or refused > 0
        warn = "  " + _(clock) if clock else ""
        if refused:  # the store never took them: this till differs from it until a manager acts (sync screen)
            warn += "  " + _("REFUSED {n}: see Sync").format(n=refused)
        extra = f" | {notice}" if notice else ""
        # with no server set, nothing is "not synced": it is all kept here, as it should be (no alarm)
        backlog = _("{n} not synced").format(n=unsynced) if unsynced is not None else _("all saved on this till")
        text = f" {cashier} | {session} | {connectivity} | " + backlog + extra + warn
        if text != getattr(self, "_shown", None):  # no repaint when nothing changed
            self._shown = text
            self.update(text)
        self.set_class(clock_warning, "warning")


class KeyBar(Static):
    """The screen's keys, wrapping between keys (never inside one) at the terminal's width; each one can be
    clicked too."""

    keys: list[tuple[str, str]] = []

    def show(self, keys: list[tuple[str, str]]) -> None:
        self.keys = keys
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width = self.size.width or 80
        lines: list[list[str]] = [[]]
        used = 0
        for key, label in self.keys:
            length = len(key) + 1 + len(label)
            if lines[-1] and used + 2 + length > width:
                lines.append([])
                used = 0
            used += length + (2 if lines[-1] else 0)
            safe = label.replace("[", r"\[")
            lines[-1].append(f"[@click=screen.key('{key}')][b reverse]{key.upper()}[/b reverse] {safe}[/]")
        self.update("\n".join("  ".join(line) for line in lines))


def sparkline(values: list[float], width: int) -> str:
    """The last `width` values as ASCII levels, scaled to the largest."""
    values = values[-width:]
    top = max(values, default=0) or 1
    n = len(SPARK_LEVELS) - 1
    return "".join(SPARK_LEVELS[min(n, round(v / top * n))] for v in values).rjust(width)


def bar_chart(rows: list[tuple[str, int, str]], width: int) -> list[str]:
    """Horizontal '#' bars: (label, value, shown value) each, scaled to the largest value."""
    top = max((v for _l, v, _s in rows), default=0) or 1
    label_w = max((len(label) for label, _v, _s in rows), default=0)
    shown_w = max((len(s) for _l, _v, s in rows), default=0)
    room = max(1, width - label_w - shown_w - 3)
    return [
        f"{label:>{label_w}} {'#' * round(value / top * room):<{room}} {shown:>{shown_w}}"
        for label, value, shown in rows
    ]


class Entry(Input):
    """An input line whose cursor does not blink: no animation, and no timer waking the till twice a second."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_blink = False


def shorten(text: str, width: int) -> str:
    """`text` in `width` columns, cut in the middle so that its end stays ("Pasta spaghetti 200 g (paquete)"
    -> "Pasta spag~ g (paquete)"): where names of one range differ, at the end (size, pack, flavour)."""
    if len(text) <= width:
        return text
    if width < 8:
        return text[:width]
    tail = (width - 1) // 2
    return text[: width - 1 - tail] + "~" + text[-tail:]


class CartView(Widget, can_focus=False):
    """The cart's lines: plain text rows drawn one line at a time (a scan repaints this widget, it does not
    lay the screen out again), the highlighted line in the cursor colour, always in view; the mouse picks
    a line and its wheel scrolls."""

    COMPONENT_CLASSES = {"cart--cursor", "cart--header"}
    DEFAULT_CSS = """
    CartView > .cart--cursor { background: yellow; color: black; }
    CartView > .cart--header { background: blue; color: white; text-style: bold; }
    """
    WIDTHS = (3, 5, 0, 12)  # #, quantity, item (the rest), amount

    def __init__(self, header: tuple[str, str, str, str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.header = header
        self.rows: list[tuple[str, str, str, str]] = []
        self.cursor = 0
        self.top = 0  # the first row in view
        self._styles: tuple[Style, Style, Style] | None = None  # plain, cursor, header: set at each paint

    def format(self, row: tuple[str, str, str, str], width: int) -> str:
        n, qty, item, amount = row
        item_w = max(4, width - sum(self.WIDTHS) - 3)
        item = shorten(item, item_w)
        return f"{n:>{self.WIDTHS[0]}} {qty:>{self.WIDTHS[1]}} {item:<{item_w}} {amount:>{self.WIDTHS[3]}}"

    def _visible(self) -> int:
        return max(1, self.content_size.height - 1)  # the header takes a line

    def set_rows(self, rows: list[tuple[str, str, str, str]], cursor: int | None = None) -> None:
        """Show `rows` with the cursor on `cursor`; only the lines that change are drawn again (a scan adds
        a line and moves the cursor: two lines, not the whole cart)."""
        old_rows, old_cursor, old_top = self.rows, self.cursor, self.top
        self.rows = rows
        if cursor is not None:
            self.cursor = cursor
        self.cursor = min(max(self.cursor, 0), max(len(rows) - 1, 0))
        self._scroll_to_cursor()
        if self.top != old_top or not self.is_mounted:
            self.refresh()
            return
        first = next(
            (i for i, (a, b) in enumerate(zip(old_rows, rows, strict=False)) if a != b), min(len(old_rows), len(rows))
        )
        changed = set(range(first, max(len(old_rows), len(rows))))
        if self.cursor != old_cursor:
            changed |= {old_cursor, self.cursor}
        width, lines = self.content_size.width, range(self.top, self.top + self._visible())
        regions = [Region(0, 1 + i - self.top, width, 1) for i in sorted(changed) if i in lines]
        if regions:
            self.refresh(*regions)

    def _scroll_to_cursor(self) -> None:
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + self._visible():
            self.top = self.cursor - self._visible() + 1
        self.top = max(0, min(self.top, max(0, len(self.rows) - self._visible())))

    def move(self, step: int) -> None:
        self.set_rows(self.rows, self.cursor + step)

    def on_resize(self) -> None:
        self._scroll_to_cursor()

    def render_lines(self, crop):
        # the styles once a paint, not once a line: rich_style walks every ancestor's CSS at each call
        self._styles = self._paint_styles()
        return super().render_lines(crop)

    def _paint_styles(self) -> tuple[Style, Style, Style]:
        """The plain, cursor and header styles."""
        cursor, header = self.get_component_rich_style("cart--cursor"), self.get_component_rich_style("cart--header")
        return self.rich_style, cursor, header

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        plain, cursor, header = self._styles or self._paint_styles()
        if y == 0:  # the header stays while the lines scroll under it
            return Strip([Segment(self.format(self.header, width).ljust(width)[:width], header)], width)
        index = self.top + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, plain)
        style = cursor if index == self.cursor else plain
        return Strip([Segment(self.format(self.rows[index], width).ljust(width)[:width], style)], width)

    def on_click(self, event) -> None:
        index = self.top + event.y - 1
        if event.y >= 1 and 0 <= index < len(self.rows):
            self.set_rows(self.rows, index)

    def on_mouse_scroll_down(self, event) -> None:
        self.top = min(self.top + 1, max(0, len(self.rows) - self._visible()))
        self.refresh()

    def on_mouse_scroll_up(self, event) -> None:
        self.top = max(0, self.top - 1)
        self.refresh()


class Line(Widget):
    """Text in a box of fixed size: changing it repaints this widget only. (Static.update lays the whole
    screen out again, which costs a scan ~20 ms on a small machine.) The text is shown as it is, never read as
    markup: a product named "Jugo [/x]" is a name, not a closing tag (and no markup parse on every scan)."""

    DEFAULT_CSS = "Line { height: 1; }"

    def __init__(self, text: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self._text = text

    def update(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.refresh()

    def render(self) -> Content:
        return Content(self._text)
