"""The per-device SHA-256 hash chain of PROTOCOL.md.

canonical(e) = compact JSON of the event as plain data without "hash", keys sorted at every level,
               raw UTF-8; hash = hex(SHA-256(bytes.fromhex(prev_hash) + canonical(e))).

Sealing an event (a till's emit) and checking one (protocol/check.py) both go through `event_hash`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

GENESIS = "0" * 64

ENVELOPE_FIELDS = ("event_id", "type", "store_id", "device_id", "seq", "hlc", "created_at", "actor", "v", "prev_hash")


class _Canonical(msgspec.Struct, gc=False):
    """The canonical form's keys in sorted order: encodes to the same bytes as the sorted dict, faster."""

    actor: Any
    created_at: Any
    device_id: Any
    event_id: Any
    hlc: Any
    payload: msgspec.Raw
    prev_hash: Any
    seq: Any
    store_id: Any
    type: Any
    v: Any


_encode = msgspec.json.Encoder().encode


def canonical_payload(payload: Any) -> bytes:
    """The payload as canonical JSON: what the store keeps and what the event's canonical form embeds."""
    return msgspec.json.encode(payload, order="sorted")


def canonical(envelope: dict[str, Any], payload_json: bytes) -> bytes:
    """Canonical bytes of an event given its envelope fields and its canonical payload JSON."""
    e = envelope
    return _encode(
        _Canonical(
            e["actor"],
            e["created_at"],
            e["device_id"],
            e["event_id"],
            e["hlc"],
            msgspec.Raw(payload_json),
            e["prev_hash"],
            e["seq"],
            e["store_id"],
            e["type"],
            e["v"],
        )
    )


def canonical_of(event_plain: dict[str, Any]) -> bytes:
    """Canonical bytes of an event given as plain data (as decoded from the wire)."""
    return msgspec.json.encode({k: v for k, v in event_plain.items() if k != "hash"}, order="sorted")


def link(prev_hash: str, canonical_bytes: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_bytes).hexdigest()


def event_hash(
    event_id: Any,
    type_: Any,
    store_id: Any,
    device_id: Any,
    seq: Any,
    hlc: Any,
    created_at: Any,
    actor: Any,
    v: Any,
    prev_hash: str,
    payload_json: bytes,
) -> str:
    """The hash an event's content gives: link(prev_hash, canonical(e)), from its envelope in ENVELOPE_FIELDS
    order (a row read back from a store, or an event's attributes) and its canonical payload JSON."""
    body = _encode(
        _Canonical(
            actor, created_at, device_id, event_id, hlc, msgspec.Raw(payload_json), prev_hash, seq, store_id, type_, v
        )
    )
    return hashlib.sha256(bytes.fromhex(prev_hash) + body).hexdigest()
