"""Spanish and English for the screens: gettext catalogs, and money written the way the shop writes it.

The catalogs are `caja_tui/locale/<lang>/LC_MESSAGES/caja.po` (the source, edited by translators) and the
compiled `caja.mo` beside it (`make i18n` extracts, merges and compiles; a test checks they agree). English
is the source language, so it needs no catalog. The language is `[till] language` in the config.
"""

from __future__ import annotations

import gettext
from pathlib import Path

from msgspec import Struct

from .domain import money

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "caja"

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def set_language(language: str) -> None:
    """Use `language` ('es', 'en') from now on; an unknown language or missing catalog means English."""
    global _translation, _language
    _translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)
    _language = language


def language() -> str:
    return _language


def _(message: str) -> str:
    return _translation.gettext(message) if message else message


def N_(message: str) -> str:
    """Marks a string for the catalog where it is defined; it is translated where it is shown, with _()."""
    return message


# Words the screens show from data (an event's sync status, connectivity, roles, payment methods).
SHOWN_FROM_DATA = [
    N_("pending"),
    N_("syncing"),
    N_("synced"),
    N_("failed"),
    N_("online"),
    N_("offline"),
    N_("unknown"),
    N_("connecting"),
    N_("no answer"),
    N_("offline-only"),
    N_("manager"),
    N_("cashier"),
    N_("cash"),
    N_("card"),
    N_("other"),
    # clockcheck.py's reasons
    N_("CLOCK WRONG: the date is in the past, set it"),
    N_("CLOCK WRONG: behind the last sale, check the time"),
    N_("CLOCK NOT CHECKED: no clock chip, no network time yet"),
]


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def error_text(exc) -> str:
    """A business rule's refusal (DomainError) in the screen's language: its template translated, then
    filled with its values (words among them, such as "the count", translated too)."""
    params = {k: (_(v) if isinstance(v, str) else v) for k, v in getattr(exc, "params", {}).items()}
    template = getattr(exc, "template", None) or exc.message
    try:
        return _(template).format(**params)
    except (KeyError, IndexError, ValueError):  # a translation that lost a placeholder: the English is right
        return exc.message


# --- money for the locale and currency ------------------------------------------------------------------

# Currencies written with a "$" sign; the others are written with their ISO code (the Linux console's font
# has no glyph for most currency signs, so codes are the legible choice there).
DOLLAR_SIGN = frozenset({"MXN", "USD", "ARS", "CLP", "COP", "UYU", "CAD", "AUD", "NZD"})
# Where Spanish-speaking shops write a decimal comma (Spain and most of South America); Mexico, the US and
# Central America write a decimal point.
COMMA_DECIMAL = frozenset({"EUR", "ARS", "CLP", "COP", "UYU", "PYG", "BOB", "VES", "BRL"})


class MoneyStyle(Struct, frozen=True, kw_only=True):
    currency: str = "MXN"
    exponent: int = 2
    decimal: str = "."
    group: str = ","
    symbol: str = "$"
    symbol_first: bool = True

    def number(self, minor: int) -> str:
        """1234567 -> '12,345.67' (or '12.345,67'): the amount without the currency."""
        text = money.format_money(abs(minor), self.exponent)
        whole, _sep, frac = text.partition(".")
        groups = []
        while len(whole) > 3:
            whole, tail = whole[:-3], whole[-3:]
            groups.insert(0, tail)
        whole = self.group.join([whole, *groups])
        sign = "-" if minor < 0 else ""
        return f"{sign}{whole}{self.decimal}{frac}" if frac else f"{sign}{whole}"

    def __call__(self, minor: int) -> str:
        """With the currency: '$12.50', '12,50 EUR', 'EUR 12.50'."""
        number = self.number(minor)
        if self.symbol_first:
            sep = "" if self.symbol == "$" else " "
            if number.startswith("-"):
                return f"-{self.symbol}{sep}{number[1:]}"
            return f"{self.symbol}{sep}{number}"
        return f"{number} {self.symbol}"

    def parse(self, text: str, what: str = N_("amount")) -> int:
        """What a cashier types: '12.50', '12,50' or '1.234,50' as the locale writes it -> minor units. `what`
        names it in a refusal ("amount '10%' is not a number like 12.50")."""
        cleaned = text.strip().replace(self.symbol, "").replace(" ", "")
        if self.group and cleaned.count(self.group) and self.group != self.decimal:
            if self.decimal in cleaned or cleaned.count(self.group) > 1 or len(cleaned.rsplit(self.group, 1)[1]) == 3:
                cleaned = cleaned.replace(self.group, "")
        return money.parse_decimal(cleaned.replace(self.decimal, "."), self.exponent, what=what)


def money_style(currency: str, exponent: int, lang: str | None = None) -> MoneyStyle:
    lang = lang or _language
    comma = lang == "es" and currency in COMMA_DECIMAL
    symbol = "$" if currency in DOLLAR_SIGN else currency
    return MoneyStyle(
        currency=currency,
        exponent=exponent,
        decimal="," if comma else ".",
        group="." if comma else ",",
        symbol=symbol,
        symbol_first=symbol == "$" or lang != "es",
    )
