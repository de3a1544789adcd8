"""Pieces of the owner's pages that need no server: the SVG charts, money, and CSV cells a spreadsheet would
otherwise run as formulas."""

from __future__ import annotations

from caja_tui.server.hq.queries import money
from caja_tui.server.hq.routes import _cell
from caja_tui.server.hq.svg import bars


def test_a_chart_is_an_accessible_svg_with_one_bar_per_value_and_escaped_labels():
    svg = str(bars("Sales <today>", [("09", 1250), ("10", 0), ("<b>", 500)], money))
    assert svg.startswith("<svg") and 'role="img"' in svg and "aria-labelledby" in svg
    assert "<title" in svg and "Sales &lt;today&gt;" in svg and "<b>" not in svg
    assert svg.count("<rect") == 3 and "the highest is 09 at 12.50" in svg
    assert "style=" not in svg and "<script" not in svg  # the pages' CSP allows no inline style nor script


def test_money_and_csv_cells():
    assert [money(v) for v in (0, 5, -20, 123456)] == ["0.00", "0.05", "-0.20", "1,234.56"]
    assert [_cell(v) for v in ("=HYPERLINK(1)", "+1", "@x", "-0.20", "-1,234.56", "Pan", 3)] == [
        "'=HYPERLINK(1)",
        "'+1",
        "'@x",
        "-0.20",
        "-1,234.56",
        "Pan",
        3,
    ]
