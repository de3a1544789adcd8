"""Mixed tenders and Spanish in the line-mode till (issue 15): a real `caja line` on a demo till (device T09; Luis,
the cashier, is number 2 with PIN 0000), typed into over a pipe. ABA-01A (rice) costs 32.90, LAC-01A 28.90."""

from __future__ import annotations

import json
import sqlite3

from tests.integration import test_cli
from tests.integration.test_cli import caja, english

till = test_cli.till


def payments(cfg) -> list[tuple[list, int]]:
    conn = sqlite3.connect(cfg.parent / "caja.db")
    try:
        rows = conn.execute("SELECT payload FROM event WHERE type = 'sale.created' ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [
        ([(p["method"], p["amount"]) for p in json.loads(r[0])["payments"]], json.loads(r[0])["change"]) for r in rows
    ]


def test_a_sale_is_paid_by_card_and_cash_in_parts_and_only_cash_gives_change(till):
    typed = [
        "2",
        "0000",
        "500",
        "ABA-01A",
        "2*LAC-01A",  # 32.90 + 57.80 = 90.70
        "pay card 100",  # more than is due on a card
        "pay cheque",
        "pay cash 50 card 20",  # 70.00 of 90.70
        "pay undo",  # the card was a mistake
        "pay card 30.70",  # 80.70: 10.00 left
        "quit",  # payments were taken: asked twice
        "pay cash 20",  # covered: 10.00 change
        "quit",
    ]
    r = caja("--config", str(english(till)), input="\n".join(typed) + "\n", timeout=60)
    assert r.returncode == 0, r.stderr
    said = r.stdout
    assert "card and other payments cannot be more than what is due ($90.70)" in said
    assert "'cheque' is neither a way to pay (cash, card, other) nor an amount like 12.50" in said
    assert "paid cash $50.00, card $20.00: $20.70 still to pay" in said
    assert "removed card $20.00" in said
    assert "paid cash $50.00, card $30.70: $10.00 still to pay" in said
    assert "payments were taken for this sale (cash $50.00, card $30.70)" in said
    assert "CHANGE $10.00" in said
    assert payments(till) == [([("cash", 5000), ("card", 3070), ("cash", 2000)], 1000)]
    assert caja("--config", str(till), "verify").returncode == 0


def test_a_till_configured_in_spanish_speaks_spanish_in_line_mode(till):
    typed = ["2", "0000", "500", "ABA-01A", "pay 0", "pay tarjeta 10 efectivo 50", "quit"]
    r = caja("--config", str(till), input="\n".join(typed) + "\n", timeout=60)  # `caja init` wrote language = "es"
    assert r.returncode == 0, r.stderr
    said = r.stdout
    assert "¿Quién es usted? número: " in said and "Hola, Luis." in said and "Fondo inicial: " in said
    assert "[sin servidor, todo guardado en esta caja] > " in said
    assert "el importe debe ser mayor que cero" in said
    assert "CAMBIO $27.10" in said
    assert payments(till) == [([("card", 1000), ("cash", 5000)], 2710)]
