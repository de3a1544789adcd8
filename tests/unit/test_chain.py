import hashlib

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from caja_tui.domain.chain import (
    ENVELOPE_FIELDS,
    GENESIS,
    canonical,
    canonical_of,
    canonical_payload,
    event_hash,
    link,
)
from caja_tui.domain.events import ProductCreated


def test_canonical_form_is_sorted_compact_raw_utf8_without_hash():
    env = {
        "event_id": "e1",
        "type": "product.created",
        "store_id": "s1",
        "device_id": "t1",
        "seq": 1,
        "hlc": 115677118955520001,
        "created_at": 1764270000000,
        "actor": "ana",
        "v": 1,
        "prev_hash": GENESIS,
    }
    payload = ProductCreated(product_id="p1", sku="A-1", name="Azúcar", price=3590, tax_rate=0)
    got = canonical(env, canonical_payload(payload))
    expected = (
        '{"actor":"ana","created_at":1764270000000,"device_id":"t1","event_id":"e1","hlc":115677118955520001,'
        '"payload":{"barcodes":[],"category":"","name":"Azúcar","price":3590,"product_id":"p1","sku":"A-1",'
        '"tax_rate":0},"prev_hash":"' + GENESIS + '","seq":1,"store_id":"s1","type":"product.created","v":1}'
    ).encode("utf-8")
    assert got == expected
    # the same bytes from the event as plain data (what the server will see), with a hash key present
    plain = msgspec.json.decode(got)
    plain["hash"] = "ff" * 32
    assert canonical_of(plain) == expected


def test_hash_links_the_previous_hash_and_the_canonical_bytes():
    data = b'{"a":1}'
    assert link(GENESIS, data) == hashlib.sha256(bytes(32) + data).hexdigest()
    h1 = link(GENESIS, data)
    assert link(h1, data) != h1


def test_old_payload_versions_are_upcast_on_read_and_never_rewritten(monkeypatch):
    from caja_tui.domain import events

    # pretend product.created is now v2, and v1 named the field "title" instead of "name"
    monkeypatch.setattr(events.ProductCreated, "VERSION", 2)
    monkeypatch.setitem(
        events.UPCASTERS,
        ("product.created", 1),
        lambda d: {**{k: v for k, v in d.items() if k != "title"}, "name": d["title"]},
    )
    stored_v1 = b'{"product_id":"p1","sku":"A","title":"Pan","price":100,"tax_rate":0}'
    p = events.decode_payload("product.created", 1, stored_v1)
    assert isinstance(p, events.ProductCreated) and p.name == "Pan"
    current = events.decode_payload("product.created", 2, canonical_payload(p))
    assert current == p


def test_unknown_types_and_future_versions_are_refused_by_name():
    import pytest

    from caja_tui.domain import events

    with pytest.raises(events.UnknownEventType):
        events.decode_payload("loyalty.points_added", 1, b"{}")
    with pytest.raises(ValueError, match="newer than this release"):
        events.decode_payload("product.deleted", 9, b'{"product_id":"p"}')


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
_envelopes = st.fixed_dictionaries(
    {
        "event_id": st.text(),
        "type": st.text(),
        "store_id": st.text(),
        "device_id": st.text(),
        "seq": st.integers(1, 2**62),
        "hlc": st.integers(0, 2**63 - 1),
        "created_at": st.integers(0, 2**62),
        "actor": st.text(),
        "v": st.integers(1, 1000),
        "prev_hash": st.text("0123456789abcdef", min_size=64, max_size=64),
    }
)


@settings(max_examples=200)
@given(_envelopes, st.dictionaries(st.text(max_size=8), _json, max_size=4))
def test_the_hash_from_the_envelope_and_payload_is_the_hash_of_the_plain_event(env, payload):
    plain = {**env, "payload": payload, "hash": "ff" * 32}
    payload_json = canonical_payload(payload)
    assert canonical(env, payload_json) == canonical_of(plain)
    assert event_hash(*(env[k] for k in ENVELOPE_FIELDS), payload_json) == link(env["prev_hash"], canonical_of(plain))
