"""The per-device SHA-256 hash chain of PROTOCOL.md.

canonical(e) = compact JSON of the event as plain data without "hash", keys sorted at every level,
               raw UTF-8; hash = hex(SHA-256(bytes.fromhex(prev_hash) + canonical(e))).
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

GENESIS = "0" * 64

ENVELOPE_FIELDS = ("event_id", "type", "store_id", "device_id", "seq", "hlc", "created_at", "actor", "v",
                   "prev_hash")


def canonical_payload(payload: Any) -> bytes:
    """The payload as canonical JSON: what the store keeps and what the event's canonical form embeds."""
    return msgspec.json.encode(payload, order="sorted")


def canonical(envelope: dict[str, Any], payload_json: bytes) -> bytes:
    """Canonical bytes of an event given its envelope fields and its canonical payload JSON."""
    doc = {k: envelope[k] for k in ENVELOPE_FIELDS}
    doc["payload"] = msgspec.Raw(payload_json)
    return msgspec.json.encode(doc, order="sorted")


def canonical_of(event_plain: dict[str, Any]) -> bytes:
    """Canonical bytes of an event given as plain data (as decoded from the wire)."""
    return msgspec.json.encode({k: v for k, v in event_plain.items() if k != "hash"}, order="sorted")


def link(prev_hash: str, canonical_bytes: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_bytes).hexdigest()
