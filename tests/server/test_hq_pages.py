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
    assert [_cell(v) for v in ("=HYPERLINK(1)", "+1", "@x", "\t=1+1", "-0.20", "-1,234.56", "Pan", 3)] == [
        "'=HYPERLINK(1)",
        "'+1",
        "'@x",
        "'\t=1+1",
        "-0.20",
        "-1,234.56",
        "Pan",
        3,
    ]


def test_the_hq_key_lives_beside_a_sqlite_database_and_in_the_data_folder_for_postgresql(monkeypatch, tmp_path):
    from pathlib import Path

    from caja_tui.server.hq.device import default_key_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_key_path("/srv/caja/server.db") == Path("/srv/caja/server.db.hq.key")
    assert default_key_path("sqlite:////srv/caja/server.db") == Path("/srv/caja/server.db.hq.key")
    assert default_key_path("postgresql://caja@localhost/caja") == tmp_path / "caja" / "hq.key"
