"""`caja serve verify`: every stored event's hash, chain link, signature and payload, checked again, and the wire
form a pull sends (`event.wire`) against the columns those checks read."""

from __future__ import annotations

from typing import Any

import msgspec

from ..domain.chain import GENESIS
from ..domain.events import decode_payload
from ..protocol.check import STORED_COLUMNS, breaks_chain, signature_problem, stored_hash_ok
from ..protocol.rows import wire_of_row


def verify(storage: Any, device_id: str | None = None) -> list[str]:
    """Recompute every stored event's hash, check the links and the signatures of devices with a key (also
    revoked ones: what they signed before stays checkable); a list of problems (empty: all good)."""
    keys = {
        (s, d): (k, f)
        for s, d, k, f in storage._rows(
            "SELECT store_id, device_id, public_key, key_from_seq FROM device WHERE public_key IS NOT NULL", ()
        )
    }
    problems: list[str] = []
    rejected = {
        (s, d, q): h for s, d, q, h in storage._rows("SELECT store_id, device_id, seq, hash FROM rejection", ())
    }
    only = " WHERE device_id = ?" if device_id else ""
    cur = storage.database.execute_sql(
        storage._sql(f"SELECT {STORED_COLUMNS}, sig, wire FROM event{only} ORDER BY store_id, device_id, seq"),
        (device_id,) if device_id else (),
    )
    last: dict[tuple[str, str], tuple[int, str]] = {}
    for r in cur:
        where, found = f"{r[2]}/{r[3]} seq {r[4]}", len(problems)
        if not stored_hash_ok(r):
            problems.append(f"{where}: hash does not match content")
        bad_sig = signature_problem(r[3], r[4], r[10], r[12], keys.get((r[2], r[3])))
        if bad_sig is not None:
            problems.append(f"{where}: {bad_sig[1]}")
        try:
            decode_payload(r[1], r[8], r[11])
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
            problems.append(f"{where}: invalid {r[1]} payload ({exc})")
        if len(problems) == found and r[13] is not None and not _wire_ok(r):  # sound columns, another wire form
            problems.append(f"{where}: the wire form a pull sends differs from the stored event")
        key = (r[2], r[3])
        prev_seq, prev_hash = last.get(key, (0, GENESIS))
        expected = GENESIS if r[4] == 1 else prev_hash if prev_seq == r[4] - 1 else rejected.get((*key, r[4] - 1))
        if breaks_chain(r[9], expected):
            problems.append(f"{where}: broken chain")
        last[key] = (r[4], r[10])
    return problems


def _wire_ok(r: Any) -> bool:
    """Does the stored wire form (msgpack, what a pull sends) hold the same event as the checked columns?"""
    try:
        return msgspec.msgpack.decode(bytes(r[13])) == wire_of_row((None, *r[:11]), msgspec.json.decode(r[11]), r[12])
    except (msgspec.DecodeError, UnicodeDecodeError):
        return False
