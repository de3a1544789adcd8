"""This till's device key and the keys of its store's devices, as the till keeps them (PROTOCOL.md "Trust").

The key file lives beside the database (`TillPaths.key`, 0600); the first seq it signs, its public key and
whether the server has it registered are kept in `meta` (`key_from_seq`, `key_public`, `key_registered`), so
the sale path and the sync process agree. `GET /v1/devices` is cached in `meta` (`devices`): what a pull and a
restore check signatures against when the server is away, and what peers will use.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..protocol.keys import DeviceKey, KeyFileError
from .errors import StoreError


class DeviceKeys:
    """A mixin of SqliteStore: `key` is None for a store opened without a key file (tests, tools)."""

    key: DeviceKey | None = None
    key_from_seq: int = 0

    def use_key(self: Any, path: Path) -> None:
        """Sign from now on with the key at `path` (made there, 0600, if missing). A new key (a first open by a
        release with keys, or a replaced key file) signs from the next seq and is registered again."""
        try:
            key = DeviceKey.load_or_create(path)
        except (KeyFileError, OSError) as exc:
            raise StoreError(f"the till's device key: {exc}") from None
        if self.meta("key_public") != key.public_hex:  # a new key: written once; every other open only reads
            with self.write():
                if self.meta("key_public") != key.public_hex:  # another process may have got there first
                    row = self._conn.execute(
                        "SELECT last_seq FROM device_state WHERE device_id = ?", (self.device_id,)
                    ).fetchone()
                    self._set_meta("key_public", key.public_hex)
                    self._set_meta("key_from_seq", str((row[0] if row else 0) + 1))
                    self._set_meta("key_registered", "")
        self.key, self.key_from_seq = key, int(self.meta("key_from_seq"))

    def key_resumes_at(self: Any, seq: int) -> None:
        """After `caja restore`: a key not registered yet signs from the seq after the restored chain."""
        if self.key is not None and not self.key_registered():
            self.set_meta("key_from_seq", str(seq))
            self.key_from_seq = seq

    def key_registered(self: Any) -> bool:
        return self.key is not None and self.meta("key_registered") == self.key.public_hex

    def mark_key_registered(self: Any) -> None:
        self.set_meta("key_registered", self.key.public_hex)

    def save_devices(self: Any, devices: list[dict[str, Any]]) -> None:
        """The store's devices as `GET /v1/devices` lists them (device_id, public_key, from_seq, revoked_at)."""
        self.set_meta("devices", json.dumps(devices, sort_keys=True))

    def known_keys(self: Any) -> dict[str, tuple[str, int]]:
        """device_id -> (public key, first signed seq), for every device of the store with a known key: from the
        server's list, and from pairing on the sync screen (store/peers.py) where the server has none."""
        devices = json.loads(self.meta("devices") or "[]")
        from .peers import paired_keys

        paired = paired_keys(self)
        return {**paired, **{d["device_id"]: (d["public_key"], d["from_seq"]) for d in devices if d.get("public_key")}}
