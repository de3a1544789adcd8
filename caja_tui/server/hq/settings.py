"""A store's settings as the owner's pages show and change them: the `config.updated` events folded into
`hq_setting` (last writer wins per field, fold.py), over the tills' defaults for a field nobody has set."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import msgspec

from ...config import SETTINGS_DEFAULTS
from ...domain.events import SETTINGS_FIELDS, ConfigUpdated, SettingsChanges
from .queries import when

LABELS = {
    "shop_name": "Shop name",
    "receipt_header": "Receipt header",
    "receipt_footer": "Receipt footer",
    "prices_include_tax": "Prices include tax",
    "low_stock": "Low-stock level",
}
assert set(LABELS) == set(SETTINGS_FIELDS), "a setting without a label"


@dataclass(frozen=True)
class StoreSettings:
    values: dict[str, Any]
    # field -> (stamp, actor) of the event that set it; absent: the tills' default
    set_by: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def low_stock(self) -> int:
        return int(self.values["low_stock"])

    @property
    def base_hlc(self) -> int:
        """The newest setting event's hlc: an owner's change says it saw that version."""
        return max((int(st[:20]) for st, _ in self.set_by.values()), default=0)


def settings_of(reader: Any, store_id: str) -> StoreSettings:
    values, set_by = dict(SETTINGS_DEFAULTS), {}
    for name, value, st, actor in reader.rows(
        "SELECT field, value, stamp, actor FROM hq_setting WHERE store_id = ?", (store_id,)
    ):
        if name in values:
            values[name] = json.loads(value)
            set_by[name] = (st, actor)
    return StoreSettings(values, set_by)


class SettingsFormError(ValueError):
    """A field of the settings form that cannot be taken; the message names it and says what it takes."""


def read_form(data: dict[str, str]) -> dict[str, Any]:
    """The settings a form gives, typed and bounded as the event's payload takes them."""
    out: dict[str, Any] = {}
    name = data.get("shop_name", "").strip()
    if not 1 <= len(name) <= 60:
        raise SettingsFormError("Shop name: 1 to 60 characters")
    out["shop_name"] = name
    header = [line.rstrip() for line in data.get("receipt_header", "").replace("\r\n", "\n").split("\n")]
    while header and not header[-1]:
        header.pop()
    if len(header) > 6 or any(len(line) > 48 for line in header):
        raise SettingsFormError("Receipt header: at most 6 lines of at most 48 characters")
    out["receipt_header"] = header
    footer = data.get("receipt_footer", "").strip()
    if len(footer) > 200:
        raise SettingsFormError("Receipt footer: at most 200 characters")
    out["receipt_footer"] = footer
    if data.get("prices_include_tax") not in ("yes", "no"):
        raise SettingsFormError("Prices include tax: yes or no")
    out["prices_include_tax"] = data["prices_include_tax"] == "yes"
    low = data.get("low_stock", "").strip()
    if not re.fullmatch(r"[0-9]{1,7}", low) or int(low) > 1_000_000:
        raise SettingsFormError("Low-stock level: a whole number from 0 to 1,000,000")
    out["low_stock"] = int(low)
    for name, value in out.items():  # the event's own bounds: no control characters (a printer obeys them)
        try:
            msgspec.convert({name: value}, SettingsChanges)
        except msgspec.ValidationError:
            raise SettingsFormError(f"{LABELS[name]}: letters, digits and signs only (no control characters)") from None
    return out


def change(current: StoreSettings, wanted: dict[str, Any]) -> ConfigUpdated | None:
    """The event that makes the store's settings `wanted`: only the fields that differ (None: nothing does)."""
    changed = {k: v for k, v in wanted.items() if current.values.get(k) != v}
    if not changed:
        return None
    return ConfigUpdated(changes=SettingsChanges(**changed), base_hlc=current.base_hlc)


def who(current: StoreSettings, name: str) -> str:
    """Who set a field and when, for the form ("default" when nobody has)."""
    if name not in current.set_by:
        return "default"
    st, actor = current.set_by[name]
    return f"{actor or 'a till'} ({st[20:]}), {when(int(st[:20]) >> 16)}"


__all__ = ["LABELS", "StoreSettings", "change", "read_form", "settings_of", "who"]
