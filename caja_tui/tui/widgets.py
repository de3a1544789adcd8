"""Reusable widgets: the status line that is never hidden, the key bar, ASCII charts for the Linux console."""

from __future__ import annotations

from textual.widgets import Input, Static

from ..i18n import _

# Eight levels from ASCII only: the Linux console's font has no block elements beyond a few.
SPARK_LEVELS = " .,:-=+*#"


class StatusLine(Static):
    """Cashier, session, connectivity and the count of events not yet on the server."""

    def show(self, *, cashier: str, session: str, connectivity: str, unsynced: int, clock_warning: bool,
             notice: str = "") -> None:
        warn = "  " + _("CLOCK WRONG: check the date and time") if clock_warning else ""
        extra = f" | {notice}" if notice else ""
        self.update(f" {cashier} | {session} | {connectivity} | "
                    + _("{n} not synced").format(n=unsynced) + extra + warn)
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
    return [f"{label:>{label_w}} {'#' * round(value / top * room):<{room}} {shown:>{shown_w}}"
            for label, value, shown in rows]


class Entry(Input):
    """An input line whose cursor does not blink: no animation, and no timer waking the till twice a second."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_blink = False
