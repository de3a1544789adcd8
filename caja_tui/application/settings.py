"""The store's settings (issue 16): the shop's name, the receipt's header and footer, whether prices include tax,
the low-stock level. Every till of a store shows them the same way: they travel as `config.updated` events, last
writer wins per setting (store/settings.py), written by a manager on a till or by the owner's pages.

What a till uses is `StoreSettings`: for each setting, the value the store's events set, else the one its TOML sets
(a till installed before settings were events), else the default. A till whose TOML sets one that no event has set
writes it once as an event (`adopt_file_settings`), so the store's other tills get it too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from ..domain.errors import DomainError
from ..domain.events import SETTINGS_FIELDS, ConfigUpdated, SettingsChanges
from ..domain.payloads.settings import PRINTABLE
from .auth import SYSTEM, require_manager
from .ports import Store, StoredSetting

SourceKind = Literal["event", "file", "default"]


@dataclass(frozen=True)
class SettingSource:
    """Where a setting's value comes from: an event (who, when, on which device), the till's TOML, the default."""

    kind: SourceKind
    actor: str = ""
    at: int = 0  # ms
    device_id: str = ""


@dataclass(frozen=True)
class StoreSettings:
    shop_name: str
    receipt_header: tuple[str, ...]
    receipt_footer: str
    prices_include_tax: bool
    low_stock: int
    sources: Mapping[str, SettingSource] = field(default_factory=dict, compare=False, repr=False)


def resolve(
    stored: Mapping[str, StoredSetting], file_values: Mapping[str, Any], defaults: Mapping[str, Any]
) -> StoreSettings:
    """Each setting from the events, else the till's TOML (`file_values`: only what it sets), else the default."""
    values: dict[str, Any] = {}
    sources: dict[str, SettingSource] = {}
    for f in SETTINGS_FIELDS:
        if f in stored:
            s = stored[f]
            value, sources[f] = s.value, SettingSource("event", s.actor, s.at, s.device_id)
        elif f in file_values:
            value, sources[f] = file_values[f], SettingSource("file")
        else:
            value, sources[f] = defaults[f], SettingSource("default")
        values[f] = tuple(value) if f == "receipt_header" else value
    return StoreSettings(**values, sources=sources)


def read_settings(store: Store, file_values: Mapping[str, Any], defaults: Mapping[str, Any]) -> StoreSettings:
    with store.read() as tx:
        return resolve(tx.settings(), file_values, defaults)


# --- checking what a person typed, with the bounds of the payload's types ------------------------------------

_TYPES = {f.name: f.type for f in msgspec.inspect.type_info(SettingsChanges).fields}  # type: ignore[attr-defined]


def _refusal(name: str, value: Any = None) -> DomainError:
    """Why a value of setting `name` was refused, with the bounds of its type in the payload."""
    t: Any = _TYPES[name]
    texts = (
        [value]
        if isinstance(value, str)
        else [v for v in value if isinstance(v, str)]
        if isinstance(value, list | tuple)
        else []
    )
    if any(not re.fullmatch(PRINTABLE, v) for v in texts):
        return DomainError("BAD_SETTING", "a setting holds no control characters (escape, tab...): {field}", field=name)
    if name == "shop_name":
        return DomainError(
            "BAD_SETTING",
            "the shop's name must be {low} to {high} characters",
            field=name,
            low=t.min_length,
            high=t.max_length,
        )
    if name == "receipt_header":
        return DomainError(
            "BAD_SETTING",
            "the receipt header has at most {lines} lines of at most {width} characters each",
            field=name,
            lines=t.max_length,
            width=t.item_type.max_length,
        )
    if name == "receipt_footer":
        return DomainError(
            "BAD_SETTING", "the receipt footer must be at most {high} characters", field=name, high=t.max_length
        )
    if name == "low_stock":
        return DomainError(
            "BAD_SETTING",
            "the low-stock level must be a whole number from {low} to {high}",
            field=name,
            low=t.ge,
            high=t.le,
        )
    return DomainError("BAD_SETTING", "whether prices include tax is yes or no", field=name)


def _normal(name: str, value: Any) -> Any:
    """Spaces around a text taken off; a header's empty last lines too."""
    if isinstance(value, str):
        return value.strip()
    if name == "receipt_header" and isinstance(value, list | tuple):
        lines = [line.strip() if isinstance(line, str) else line for line in value]
        while lines and lines[-1] == "":
            lines.pop()
        return lines
    return value


def check_settings(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes, normalised and within the payload's bounds; a DomainError naming the first that is not."""
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise DomainError(
            "BAD_FIELD",
            "the store's settings have no {fields} (they are: {known})",
            fields=", ".join(sorted(unknown)),
            known=", ".join(SETTINGS_FIELDS),
        )
    out: dict[str, Any] = {}
    for name in SETTINGS_FIELDS:
        if name not in changes:
            continue
        value = _normal(name, changes[name])
        bad = (name == "low_stock" and isinstance(value, bool)) or (
            name == "prices_include_tax" and not isinstance(value, bool)
        )
        try:
            if bad:
                raise msgspec.ValidationError
            msgspec.convert({name: value}, SettingsChanges, strict=True)
        except msgspec.ValidationError:
            raise _refusal(name, value) from None
        out[name] = value
    return out


# --- writing ---------------------------------------------------------------------------------------------------


def update_settings(
    store: Store, actor: str, changes: Mapping[str, Any], base_hlc: int | None = None
) -> tuple[str, ...]:
    """A manager changes some of the store's settings; returns the names of those that changed (nothing is written
    when none did). A setting changes when it differs from what the store's events say (one no event has set yet
    is written, so the store's other tills take it too). `base_hlc`: the settings the editor saw (default: the
    newest the till knows)."""
    checked = check_settings(changes)
    with store.transaction() as tx:
        require_manager(tx, actor)
        stored = tx.settings()
        changed = {k: v for k, v in checked.items() if k not in stored or _same(stored[k].value) != _same(v)}
        if changed:
            seen = max((s.hlc for s in stored.values()), default=0)
            base = seen if base_hlc is None else base_hlc
            tx.emit(ConfigUpdated(changes=SettingsChanges(**changed), base_hlc=base), actor)
    return tuple(changed)


def _same(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


def adopt_file_settings(store: Store, file_values: Mapping[str, Any], actor: str = SYSTEM) -> tuple[str, ...]:
    """A till whose TOML sets store settings (an install from before they were events) writes ONE `config.updated`
    with those no event has set yet, so the store's other tills get them; returns their names (empty: nothing to
    do, the usual case). A value the payload's bounds refuse (an empty shop name) is left out. Checked again
    inside the write transaction: the till and its sync process starting together write it once."""
    wanted = {}
    for name, value in file_values.items():
        try:
            wanted.update(check_settings({name: value}))
        except DomainError:
            continue
    if not wanted:
        return ()
    with store.read() as tx:  # the usual case, every start after the first: nothing to write, no write lock
        if set(wanted) <= set(tx.settings()):
            return ()
    with store.transaction() as tx:
        stored = tx.settings()
        todo = {k: v for k, v in wanted.items() if k not in stored}
        if todo:
            tx.emit(ConfigUpdated(changes=SettingsChanges(**todo), base_hlc=0), actor)
    return tuple(todo)
