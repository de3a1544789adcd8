"""The `config.*` payloads (sync priority LOW): a store's settings, shared by its tills and the owner's pages.

A store's settings are what every till of the store shows the same way: the shop's name, the receipt's header
and footer, whether prices include tax, the low-stock level. They travel as events like a product's fields,
last writer wins per field by (hlc, device_id); a till's TOML keeps only what belongs to the machine (paths,
device, server, token, printer, kiosk). A manager on a till and an owner in the browser (the server's HQ device
of the store) write them.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from .base import Changes, Payload, Priority, event_type

SETTINGS_AGGREGATE = "config:store"
HEADER_LINES = 6
HEADER_WIDTH = 48

CONTROL_CHARS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"  # a receipt printer would obey them; PostgreSQL refuses NUL
PRINTABLE = rf"^[^{CONTROL_CHARS}]*$"  # no control characters
ShopName = Annotated[str, Meta(min_length=1, max_length=60, pattern=PRINTABLE)]
HeaderLine = Annotated[str, Meta(max_length=HEADER_WIDTH, pattern=PRINTABLE)]
Footer = Annotated[str, Meta(max_length=200, pattern=PRINTABLE)]
LowStock = Annotated[int, Meta(ge=0, le=1_000_000)]


class SettingsChanges(Changes, frozen=True, kw_only=True):
    """Only the settings that changed are present on the wire."""

    shop_name: ShopName | UnsetType = UNSET
    receipt_header: Annotated[list[HeaderLine], Meta(max_length=HEADER_LINES)] | UnsetType = UNSET
    receipt_footer: Footer | UnsetType = UNSET
    prices_include_tax: bool | UnsetType = UNSET
    low_stock: LowStock | UnsetType = UNSET


SETTINGS_FIELDS: tuple[str, ...] = SettingsChanges.__struct_fields__


@event_type("config.updated", Priority.LOW)
class ConfigUpdated(Payload, frozen=True, kw_only=True):
    changes: SettingsChanges
    base_hlc: Annotated[int, Meta(ge=0, le=2**63 - 1)]

    def aggregate(self) -> str:
        return SETTINGS_AGGREGATE
