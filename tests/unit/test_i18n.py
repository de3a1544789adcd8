"""Spanish and English: the catalogs are complete and compiled, placeholders survive, money reads right."""

from __future__ import annotations

import gettext
import re
import sys
from pathlib import Path

import pytest

from caja_tui import i18n
from caja_tui.domain.errors import DomainError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import i18n as tool  # noqa: E402  (tools/i18n.py)


def test_the_committed_catalogs_are_what_make_i18n_would_write():
    for path, data in tool.build().items():
        assert path.read_bytes() == data, f"{path.name} is out of date: run `make i18n`"


def test_every_string_on_the_screens_has_spanish_with_the_same_placeholders():
    es = tool.parse_po((i18n.LOCALE_DIR / "es" / "LC_MESSAGES" / "caja.po").read_text(encoding="utf-8"))
    ids = tool.extract()
    assert len(ids) > 250 and set(ids) == set(es)
    for msgid in ids:
        assert es[msgid], f"no Spanish for {msgid!r}"
        assert set(re.findall(r"\{\w*\}", msgid)) == set(re.findall(r"\{\w*\}", es[msgid])), msgid


def test_gettext_reads_the_compiled_catalog():
    t = gettext.translation(i18n.DOMAIN, i18n.LOCALE_DIR, languages=["es"])
    assert t.gettext("{n} not synced").format(n=3) == "3 sin sincronizar"
    i18n.set_language("es")
    try:
        assert i18n._("Pay") == "Cobrar" and i18n._("") == ""
    finally:
        i18n.set_language("en")
    assert i18n._("Pay") == "Pay"


@pytest.mark.parametrize(
    ("currency", "lang", "minor", "shown"),
    [
        ("MXN", "es", 123456789, "$1,234,567.89"),
        ("MXN", "en", -950, "-$9.50"),
        ("EUR", "es", 123456, "1.234,56 EUR"),
        ("EUR", "en", 123456, "EUR 1,234.56"),
        ("CLP", "es", 150000, "$1.500,00"),
        ("JPY", "en", 1500, "JPY 1,500"),
    ],
)
def test_money_is_written_the_way_the_shop_writes_it(currency, lang, minor, shown):
    exponent = 0 if currency == "JPY" else 2
    style = i18n.money_style(currency, exponent, lang)
    assert style(minor) == shown
    assert style.parse(style.number(minor)) == minor  # what the screen shows, typed back, is the same amount


def test_typed_amounts_accept_both_decimal_marks_and_refuse_nonsense():
    es_eur = i18n.money_style("EUR", 2, "es")
    assert es_eur.parse("12,5") == 1250 and es_eur.parse("1.234,50") == 123450 and es_eur.parse("7") == 700
    mxn = i18n.money_style("MXN", 2, "es")
    assert mxn.parse("12.50") == 1250 and mxn.parse("12,50") == 1250 and mxn.parse("1,234.50") == 123450
    with pytest.raises(DomainError):
        mxn.parse("doce")
    with pytest.raises(DomainError):
        mxn.parse("1.234")  # three decimals: not money


def test_a_refusal_reads_in_the_screens_language_and_stays_english_for_the_log():
    from caja_tui.domain import money

    with pytest.raises(DomainError) as caught:
        money.parse_money("doce", 2)
    exc = caught.value
    assert exc.message == "price 'doce' is not a number like 12.50"  # the CLI and the log
    i18n.set_language("es")
    try:
        assert i18n.error_text(exc) == "el precio 'doce' no es un número como 12.50"
        assert i18n.error_text(DomainError("BAD_PIN", "wrong user or PIN")) == "usuario o PIN incorrecto"
        untranslated = DomainError("NEW", "a rule added after the catalog: {n}", n=3)
        assert i18n.error_text(untranslated) == "a rule added after the catalog: 3"
    finally:
        i18n.set_language("en")
    assert i18n.error_text(exc) == exc.message
