"""The event check of PROTOCOL.md ("Hash chain", "Trust"): the one place that says whether an event is sound.

Every path an event travels calls it: the server's push (`server/validate.py`), a till's pull and `caja
restore` (`SqliteStore.apply_remote`), and the checks of what a store holds (`caja verify`, `caja serve
verify`). Its answers use the protocol's codes, in the protocol's order:

    envelope shape -> INVALID, known type -> UNKNOWN_TYPE, payload fields -> INVALID, hash -> BAD_HASH,
    signature (of a device with a known key, from its first signed seq) -> BAD_SIG, clock (when the path gives its time) -> CLOCK_SKEW; chain link (where the predecessor is known) -> BROKEN_CHAIN

`check_event` answers for one event on its own; `breaks_chain` is the link, for a path that knows the
predecessor (the server's batch, a verify walking a device's log); `stored_hash_ok` is the hash check of an
event read back from a store.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec

from ..domain.chain import canonical_payload, event_hash
from ..domain.clock import wall_of
from ..domain.events import PAYLOAD_TYPES, Event, Payload, decode_payload
from . import WireEvent
from .keys import signature_ok

CLOCK_SKEW_MS = 5 * 60 * 1000
# clock-ordered: last-writer-wins by hlc, so an hlc far ahead would win over everyone (PROTOCOL.md "Trust", Clocks)
LWW_FAMILIES = ("product.", "customer.", "config.", "user.", "stock.counted")
# refusals that heal (a newer till's type once the server is upgraded; a clock once it is right) or that say
# nothing of the genuine event (BAD_HASH: the claimed hash is meaningless; BAD_SIG: a forged or stripped
# signature on genuine content): never recorded under an event id
# NOT_ALLOWED (an event granting a manager's rights from an actor who is not a manager, domain/rights.py) heals
# once the actor's own promotion has arrived, which may come later by another path
NOT_RECORDED = frozenset({"BAD_HASH", "UNKNOWN_TYPE", "CLOCK_SKEW", "BAD_SIG", "NOT_ALLOWED"})
# the known keys of a store's devices: device_id -> (public key hex, the first seq it signs)
Keys = Mapping[str, tuple[str, int]]


class Checked(msgspec.Struct, kw_only=True, gc=False):
    """One event after the check: the verdict (`reject`), or the event ready to store and project."""

    event_id: str
    event: WireEvent | Event | None = None  # None: not even an envelope
    payload: Payload | None = None  # None on a sound event: a type this release does not know (kept unprojected)
    payload_json: bytes = b""  # the canonical payload JSON, what a store keeps; set on a sound event only
    reject: tuple[str, str] | None = None  # (code, message); None: the event is sound
    hash_ok: bool = False  # the event's content gives its claimed hash: a refusal may be recorded under it


def check_event(
    event: Any,
    *,
    now_ms: int | None = None,
    keep_unknown: bool = False,
    store_id: str | None = None,
    not_device: str | None = None,
    keys: Keys | None = None,
) -> Checked:
    """Check one decoded event: plain data (a push body, decoded leniently so each event gets its own answer),
    a WireEvent (a pulled page, typed by its decoder) or a domain Event. Never raises for what a sender sent.

    now_ms: the receiver's time; a clock-ordered event further ahead than CLOCK_SKEW_MS is CLOCK_SKEW.
    keep_unknown: a type this release does not know is sound with no payload (a newer till's event, which a
    till keeps and projects after an upgrade) instead of UNKNOWN_TYPE.
    store_id: the receiver's store; another store's event is refused (a till's pull: nothing of another
    store ever reaches its read models). not_device: the receiver's own device id, which it takes from nobody
    (a till, except during `caja restore`): its own chain is its own.
    keys: the devices' known keys; an event of a device with a key, at or after its first signed seq, must
    carry the signature of its hash (BAD_SIG). Each signature is verified once, only for such devices.

    The steps run in the protocol's order; each answers a reject (code, message) or None, and the first reject
    is the verdict. A step that finds something the event needs (its typed payload, its canonical bytes) sets
    it on `out`.
    """
    if isinstance(event, WireEvent | Event):  # typed by its decoder: the envelope's shape is known
        if isinstance(event.payload, msgspec.Raw):  # kept as its bytes (a peer's page, peers/client.py)
            sound = _sound_as_bytes(event, event.payload, now_ms, store_id, not_device, keys)
            if sound is not None:
                return sound
            event = msgspec.structs.replace(event, payload=msgspec.json.decode(event.payload))
        out, e = Checked(event_id=event.event_id, event=event), event
    else:
        out, e = _envelope(event)
        if e is None:
            return out
    out.reject = (
        _receiver(e, store_id, not_device)
        or _payload(out, e, keep_unknown)
        or _hash(out, e)
        or _signature(e, keys)
        or _clock(e, now_ms)
    )
    if out.reject is not None:
        if not out.hash_ok and out.reject[0] == "INVALID" and not isinstance(e.payload, Payload):
            out.hash_ok = _hash(out, e) is None  # an invalid payload: is it at least the content of its hash?
        out.payload_json = b""  # set on a sound event only
    return out


# a batch with signatures to verify is checked in parts on this many threads at once: libsodium's verification
# (most of a signed event's check) releases the GIL, so the parts verify on every core
CHECK_THREADS = max(1, min(4, os.cpu_count() or 1))
PARALLEL_MIN = 32  # events below which one thread is quicker than handing parts out
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def check_events(events: Sequence[Any], *, keys: Keys | None = None, **kw: Any) -> list[Checked]:
    """`check_event` for each of `events` (same arguments), in order: a batch holding signatures to verify
    (`keys` given and at least PARALLEL_MIN events) in CHECK_THREADS parts at once, each event still checked
    whole and on its own."""
    n = len(events)
    if not keys or n < PARALLEL_MIN or CHECK_THREADS == 1 or not any(_may_verify(e, keys) for e in events):
        return [check_event(e, keys=keys, **kw) for e in events]
    size = -(-n // CHECK_THREADS)
    parts = [events[i : i + size] for i in range(0, n, size)]
    out: list[Checked] = []
    for checked in _threads().map(lambda part: [check_event(e, keys=keys, **kw) for e in part], parts):
        out.extend(checked)
    return out


def _may_verify(event: Any, keys: Keys) -> bool:
    """Whether checking this event may verify a signature (else the threads would only share out the GIL): a
    typed event of a device with a known key from its first signed seq on; plain data, always."""
    if not isinstance(event, WireEvent | Event):
        return True
    known = keys.get(event.device_id)
    return known is not None and event.seq >= known[1]


def _threads() -> ThreadPoolExecutor:
    """The checking threads, started at the first batch that needs them (never at import, nor before a fork)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(CHECK_THREADS, thread_name_prefix="caja-check")
        return _pool


def _sound_as_bytes(
    e: WireEvent | Event,
    raw: msgspec.Raw,
    now_ms: int | None,
    store_id: str | None,
    not_device: str | None,
    keys: Keys | None,
) -> Checked | None:
    """The check of an event whose payload is the bytes it came as, when it is sound and those bytes are its payload's
    canonical JSON (as a till stores and serves it): the bytes decoded once, into the payload's type (no plain data in
    between) and encoded back to compare, the same steps on the rest. Anything else (another form of the same
    payload, an old version, an unknown type, any step's refusal) is None: the caller checks the event from its
    payload as plain data, so each verdict and message is the usual one. Canonical bytes decode into the same payload
    as their plain data does, and that plain data's canonical JSON is those bytes (a payload's canonical form is the
    same from its Struct or its plain data: tills hash the one and check the other)."""
    cls = PAYLOAD_TYPES.get(e.type)
    if cls is None or e.v != cls.VERSION or _receiver(e, store_id, not_device) is not None:
        return None
    payload_json = bytes(raw)
    try:
        payload = decode_payload(e.type, e.v, payload_json)
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError, TypeError):
        return None
    if canonical_payload(payload) != payload_json:
        return None
    h = event_hash(
        e.event_id, e.type, e.store_id, e.device_id, e.seq, e.hlc, e.created_at, e.actor, e.v, e.prev_hash, payload_json
    )
    if h != e.hash or _signature(e, keys) is not None or _clock(e, now_ms) is not None:
        return None
    return Checked(event_id=e.event_id, event=e, payload=payload, payload_json=payload_json, hash_ok=True)


def _envelope(event: Any) -> tuple[Checked, WireEvent | None]:
    """Envelope shape -> INVALID: plain data converted to a WireEvent (None, with the reject, if it is not one)."""
    event_id = event.get("event_id") if isinstance(event, dict) else None
    out = Checked(event_id=event_id if isinstance(event_id, str) else "")
    if not isinstance(event, dict):
        out.reject = ("INVALID", "an event must be an object")
        return out, None
    try:
        out.event = msgspec.convert(event, WireEvent)
    except msgspec.ValidationError as exc:
        out.reject = ("INVALID", f"envelope: {exc}")
        return out, None
    return out, out.event


def _receiver(e: WireEvent | Event, store_id: str | None, not_device: str | None) -> tuple[str, str] | None:
    """The receiver's store, and never its own device id from elsewhere -> INVALID (refused on a pull)."""
    if store_id is not None and e.store_id != store_id:
        return ("INVALID", f"an event of store '{e.store_id}', not of this store '{store_id}'")
    if not_device is not None and e.device_id == not_device:
        return ("INVALID", f"an event with this till's own device id '{not_device}': only a restore takes it")
    return None


def _payload(out: Checked, e: WireEvent | Event, keep_unknown: bool) -> tuple[str, str] | None:
    """Known type -> UNKNOWN_TYPE (unless kept), payload fields -> INVALID; sets out.payload."""
    payload = e.payload
    if not isinstance(payload, Payload):  # plain data from the wire; a domain Event's payload is typed already
        if e.type not in PAYLOAD_TYPES:
            if not keep_unknown:
                return ("UNKNOWN_TYPE", f"unknown event type '{e.type}'")
            payload = None
        else:
            try:
                payload = decode_payload(e.type, e.v, payload)
            except (msgspec.ValidationError, ValueError, TypeError) as exc:
                return ("INVALID", f"payload: {exc}")
    out.payload = payload
    return None


def _hash(out: Checked, e: WireEvent | Event) -> tuple[str, str] | None:
    """The canonical payload (plain data, else INVALID) and the event's hash -> BAD_HASH; sets out.payload_json."""
    try:
        out.payload_json = payload_json = canonical_payload(e.payload)
    except (TypeError, msgspec.EncodeError) as exc:  # e.g. a msgpack extension value in the payload
        return ("INVALID", f"not canonical plain data: {exc}")
    h = event_hash(
        e.event_id, e.type, e.store_id, e.device_id, e.seq, e.hlc, e.created_at, e.actor, e.v, e.prev_hash, payload_json
    )
    if h != e.hash:
        return ("BAD_HASH", "hash does not match the event's content")
    out.hash_ok = True
    return None


def _signature(e: WireEvent | Event, keys: Keys | None) -> tuple[str, str] | None:
    """Signature -> BAD_SIG: from its first signed seq on, a device with a known key signs every event's hash."""
    known = keys.get(e.device_id) if keys else None
    # a domain Event carries no sig: it is checked where it is stored (`caja verify`)
    return signature_problem(e.device_id, e.seq, e.hash, getattr(e, "sig", None), known)


def signature_problem(
    device_id: str, seq: int, hash_: str, sig: str | None, known: tuple[str, int] | None
) -> tuple[str, str] | None:
    """The signature step for one event, also of one read back from a store (`caja verify`, `caja serve
    verify`): `known` is its device's (public key, first signed seq), None when no key is known."""
    if known is None or seq < known[1]:
        return None
    if sig is None:
        return ("BAD_SIG", f"device '{device_id}' signs its events from seq {known[1]}; this one is unsigned")
    if not signature_ok(known[0], hash_, sig):
        return ("BAD_SIG", f"the signature is not device '{device_id}''s signature of this event's hash")
    return None


def _clock(e: WireEvent | Event, now_ms: int | None) -> tuple[str, str] | None:
    """Clock -> CLOCK_SKEW, when the path gives its time: a clock-ordered (last-writer-wins) event too far ahead."""
    if now_ms is not None and e.type.startswith(LWW_FAMILIES) and wall_of(e.hlc) > now_ms + CLOCK_SKEW_MS:
        return ("CLOCK_SKEW", "hlc is more than 5 minutes ahead of the server's time; fix the till's clock")
    return None


def breaks_chain(prev_hash: str | None, predecessor_hash: str | None) -> bool:
    """The chain link: an event's prev_hash differs from its predecessor's hash (GENESIS before seq 1).

    Either side None means it is not known here (the predecessor not received yet, or rejected): no verdict.
    """
    return prev_hash is not None and predecessor_hash is not None and prev_hash != predecessor_hash


STORED_COLUMNS = "event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, hash, payload"


def stored_hash_ok(r: Sequence[Any]) -> bool:
    """Does an event read back from a store (a row of STORED_COLUMNS, payload as canonical JSON text) still
    give its hash? False: the stored event was altered."""
    return event_hash(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[11].encode()) == r[10]
