"""A peer's page keeps each payload as the bytes it came as (peers/client.py `decode_events`), and the event check
takes them as the canonical payload when they are (protocol/check.py `_sound_as_bytes`). Nothing may differ from
checking the same page decoded as plain data: the same verdicts, messages, payloads and stored bytes, the same
refused pages."""

from __future__ import annotations

import hashlib
import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caja_tui.domain.chain import GENESIS, canonical_payload
from caja_tui.peers.client import PeerEvents, RawPayloadEvent, _decode, decode_events
from caja_tui.protocol.check import check_event, check_events
from caja_tui.protocol.keys import DeviceKey
from caja_tui.sync.transport import TransportError
from tests.integration.test_convergence import scenario  # noqa: F401 - the fixture: every kind of event

KEY = DeviceKey(bytes(range(32)))
OTHER = DeviceKey(bytes(range(1, 33)))


def _page(events: list[bytes], more: bool = False) -> bytes:
    return b'{"events":[' + b",".join(events) + b'],"more":' + (b"true" if more else b"false") + b"}"


def _wire(envelope: dict, payload: bytes) -> bytes:
    return msgspec.json.encode({**envelope, "payload": msgspec.Raw(payload)})


def _same(a, b) -> None:
    assert (a.event_id, a.reject, a.payload, a.payload_json, a.hash_ok) == (
        b.event_id,
        b.reject,
        b.payload,
        b.payload_json,
        b.hash_ok,
    )


def _both(body: bytes, **kw) -> tuple[list, list]:
    """The checks of a page decoded as a peer's page is now, and as plain data."""
    fast, plain = decode_events(body).events, msgspec.json.decode(body, type=PeerEvents).events
    assert all(isinstance(e, RawPayloadEvent) for e in fast)
    return [check_event(e, **kw) for e in fast], [check_event(e, **kw) for e in plain]


def test_every_kind_of_event_checks_the_same_from_its_bytes(scenario):  # noqa: F811
    wire = []
    for e in scenario:
        envelope = {f: getattr(e, f) for f in e.__struct_fields__ if f != "payload"}
        wire.append(_wire(envelope, canonical_payload(e.payload)))
    for kw in ({"keep_unknown": True, "store_id": "s1", "not_device": "Z"}, {"store_id": "s1", "not_device": "A"}):
        fast, plain = _both(_page(wire), **kw)
        for a, b in zip(fast, plain, strict=True):
            _same(a, b)
        assert sum(c.reject is None for c in fast) > len(scenario) // 2


PRODUCT = st.fixed_dictionaries(
    {
        "product_id": st.text(min_size=1, max_size=12),
        "sku": st.text(min_size=1, max_size=12),
        "name": st.text(min_size=1, max_size=12),
        "price": st.integers(0, 10**9),
        "tax_rate": st.integers(0, 10_000),
        "barcodes": st.lists(st.text(min_size=1, max_size=8), max_size=3),
        "category": st.text(max_size=12),
    }
)


def _forms(payload: dict) -> dict[str, bytes]:
    """The same payload written in several ways: only the first is canonical."""
    extra = {**payload, "zz": 1}
    floats = {**payload, "price": float(payload["price"])}
    return {
        "canonical": canonical_payload(payload),
        "spaced": json.dumps(payload, sort_keys=True, ensure_ascii=False).encode(),
        "unsorted": json.dumps(dict(reversed(payload.items())), separators=(",", ":"), ensure_ascii=False).encode(),
        "escaped": json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode(),
        "extra field": canonical_payload(extra),
        "a float price": json.dumps(floats, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(),
        "no price": canonical_payload({k: v for k, v in payload.items() if k != "price"}),
    }


def _sealed(payload: bytes, hashed: bytes, *, seq: int, prev: str, sign: DeviceKey | None) -> bytes:
    envelope = {
        "event_id": f"e{seq}",
        "type": "product.created",
        "store_id": "s1",
        "device_id": "D",
        "seq": seq,
        "hlc": (1_764_270_000_000 << 16) + seq,
        "created_at": 1_764_270_000_000,
        "actor": "ana",
        "v": 1,
        "prev_hash": prev,
    }
    body = {**envelope, "payload": msgspec.Raw(hashed)}
    h = hashlib.sha256(bytes.fromhex(prev) + msgspec.json.encode(body, order="sorted")).hexdigest()
    sig = {"sig": sign.sign(h)} if sign is not None else {}
    return _wire({**envelope, "hash": h, **sig}, payload)


@settings(max_examples=60, deadline=None)
@given(PRODUCT, st.sampled_from([None, KEY, OTHER]))
def test_a_payload_in_any_form_gets_the_same_verdict_from_its_bytes(payload, signer):
    """Each form hashed as it is written, and as the canonical form of its plain data: a form that is not canonical
    is refused (bad hash) or stored canonical exactly as when the page is read as plain data."""
    forms = _forms(payload)
    plain_canonical = {n: canonical_payload(msgspec.json.decode(b)) for n, b in forms.items()}
    wire = []
    for _ in range(3):  # over 32 events: the batch check shares them out on threads when it verifies signatures
        for n, form in forms.items():
            for hashed in (form, plain_canonical[n]):
                wire.append(_sealed(form, hashed, seq=len(wire) + 1, prev=GENESIS, sign=signer))
    for keys in (None, {"D": (KEY.public_hex, 1)}, {"D": (KEY.public_hex, 10**6)}):
        fast, plain = _both(_page(wire), keys=keys, keep_unknown=True, store_id="s1", not_device="Z")
        for a, b in zip(fast, plain, strict=True):
            _same(a, b)
        assert fast[0].reject is None or keys == {"D": (KEY.public_hex, 1)}  # the canonical form hashed so: sound
        assert fast[0].reject is None or signer is not KEY
        page, as_plain = decode_events(_page(wire)).events, msgspec.json.decode(_page(wire), type=PeerEvents).events
        for a, b in zip(check_events(page, keys=keys), check_events(as_plain, keys=keys), strict=True):
            _same(a, b)


@pytest.mark.parametrize(
    "payload",
    [b"[1,2]", b'"text"', b"17", b"null", b"true", b" [ ]"],
)
def test_a_page_with_a_payload_that_is_not_an_object_is_refused_as_before(payload):
    body = _page([_sealed(payload, payload, seq=1, prev=GENESIS, sign=None)])
    with pytest.raises(TransportError) as before:
        _decode(body, PeerEvents)
    with pytest.raises(TransportError) as now:
        decode_events(body)
    assert str(now.value) == str(before.value)


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b'{"events":[{}],"more":false}', b'{"events":[],"more":1}', b'{"events":[{"payload":{}}]}'],
)
def test_a_page_that_is_not_one_is_refused_as_before(body):
    with pytest.raises(TransportError) as before:
        _decode(body, PeerEvents)
    with pytest.raises(TransportError) as now:
        decode_events(body)
    assert str(now.value) == str(before.value)
