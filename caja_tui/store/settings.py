"""The store's settings (`config.updated`): the read model and its queries.

One row per setting that an event has set: its value (JSON), and the stamp, actor and time of the event that set
it. Last writer wins per setting by the stamp `(hlc, device_id)`, like a product's fields, so every till folds the
store's events to the same settings whatever order they arrive in. A setting no event has set has no row: the till
falls back to its TOML, then to the defaults (application/settings.py).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..application.ports import StoredSetting
from .reads import Reads

# the newest stamp wins, in any order; the same event twice changes nothing
SQL_SETTING = (
    "INSERT INTO store_setting (field, value, ts, actor, at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(field) DO UPDATE SET value = excluded.value, ts = excluded.ts, actor = excluded.actor, "
    "at = excluded.at WHERE excluded.ts > store_setting.ts"
)
HLC_DIGITS = 20  # domain.rights.stamp: the hlc as 20 digits, then the device id


def setting_rows(changes: dict[str, Any], ts: str, actor: str, created_at: int) -> list[tuple[Any, ...]]:
    """The rows of SQL_SETTING a `config.updated` event's changes make."""
    return [(f, msgspec.json.encode(v).decode(), ts, actor, created_at) for f, v in changes.items()]


class SettingsQueries(Reads):
    def settings(self) -> dict[str, StoredSetting]:
        """The settings events have set, each with who set it, when, and on which device."""
        out = {}
        for field, value, ts, actor, at in self._q("SELECT field, value, ts, actor, at FROM store_setting"):
            out[field] = StoredSetting(
                value=msgspec.json.decode(value),
                actor=actor,
                at=at,
                hlc=int(ts[:HLC_DIGITS]),
                device_id=ts[HLC_DIGITS:],
            )
        return out
