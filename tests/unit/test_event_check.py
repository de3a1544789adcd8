"""The event check (protocol/check.py), as properties: what every path an event travels relies on.

Events are sealed here with the standard library's json (sorted keys, no spaces, raw UTF-8), as PROTOCOL.md
writes it, not with the code under test.
"""

from __future__ import annotations

import hashlib
import json
import time

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from caja_tui.domain.chain import GENESIS
from caja_tui.domain.clock import pack
from caja_tui.domain.events import PAYLOAD_TYPES
from caja_tui.protocol import MIN_WALL_MS, WireEvent
from caja_tui.protocol.check import breaks_chain, check_event
from caja_tui.server.ingest import BatchState, decide_batch

UNKNOWN_TYPE = "loyalty.points_added"  # a newer till's event type: kept by a till, refused by the server


def seal(event: dict) -> dict:
    body = {k: v for k, v in event.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return {**event, "hash": hashlib.sha256(bytes.fromhex(event["prev_hash"]) + canonical).hexdigest()}


no_nul = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
ids = st.text(no_nul, min_size=1, max_size=24)
hlcs = st.integers(MIN_WALL_MS << 16, 1_735_689_600_000 << 16)  # from 2020 to 2025: in the past, within bounds
tags = st.from_regex(r"\A[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,8}){1,2}\Z")
hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)
product = st.fixed_dictionaries(
    {
        "product_id": ids,
        "sku": ids,
        "name": ids,
        "price": st.integers(0, 10**9),
        "tax_rate": st.integers(0, 10_000),
        "barcodes": st.lists(ids, max_size=3),
        "category": st.text(max_size=12),
    }
)
plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
anything = st.dictionaries(st.text(min_size=1, max_size=8), plain, max_size=4)
ENVELOPE = {
    "event_id": ids,
    "store_id": ids,
    "device_id": ids,
    "seq": st.integers(1, 2**62),
    "hlc": hlcs,
    "created_at": st.integers(0, 2**62),
    "actor": st.text(no_nul, max_size=64),
    "prev_hash": hex64,
    "hash": hex64,
}
UNKNOWN_ONLY = {"type": tags, "v": st.integers(1, 1000)}  # with any payload


@st.composite
def chains(draw, *, type_: str = "product.created", min_size: int = 1, max_size: int = 5) -> list[dict]:
    """One device's genuine chain: seq 1.., each prev_hash the hash before it."""
    store, device = draw(ids), draw(ids)
    hlc, prev, out = draw(hlcs), GENESIS, []
    for seq in range(1, draw(st.integers(min_size, max_size)) + 1):
        e = seal(
            {
                "event_id": draw(ids),
                "type": type_,
                "store_id": store,
                "device_id": device,
                "seq": seq,
                "hlc": hlc + seq,
                "created_at": draw(st.integers(0, 2**62)),
                "actor": draw(st.text(no_nul, max_size=64)),
                "v": 1,
                "prev_hash": prev,
                "payload": draw(product if type_ == "product.created" else anything),
            }
        )
        out.append(e)
        prev = e["hash"]
    return out


def every_path(e: dict) -> list:
    """The verdicts of the server's push (plain data, at its time) and a till's pull (a typed WireEvent)."""
    now = int(time.time() * 1000)
    return [check_event(e, now_ms=now).reject, check_event(msgspec.convert(e, WireEvent), keep_unknown=True).reject]


@settings(max_examples=100)
@given(chains())
def test_a_genuine_chain_always_passes_on_every_path(chain):
    prev = GENESIS
    for e in chain:
        assert every_path(e) == [None, None]
        checked = check_event(e)
        assert checked.payload is not None and checked.payload.product_id == e["payload"]["product_id"]
        assert msgspec.json.decode(checked.payload_json) == e["payload"]
        assert not breaks_chain(e["prev_hash"], prev)
        prev = e["hash"]


@settings(max_examples=100)
@given(chains(type_=UNKNOWN_TYPE))
def test_a_genuine_event_of_an_unknown_type_is_kept_by_a_till_and_refused_by_the_server(chain):
    for e in chain:
        kept = check_event(msgspec.convert(e, WireEvent), keep_unknown=True)
        assert kept.reject is None and kept.payload is None
        assert check_event(e).reject == ("UNKNOWN_TYPE", f"unknown event type '{UNKNOWN_TYPE}'")


def _changed(data, strategy, old):
    return data.draw(strategy.filter(lambda new: new != old and type(new) is type(old)))


@settings(max_examples=200)
@given(chains(max_size=3), st.data())
def test_any_change_of_an_envelope_field_or_a_payload_value_fails_with_bad_hash(chain, data):
    e = data.draw(st.sampled_from(chain))
    key = data.draw(st.sampled_from(sorted(ENVELOPE) + [f"payload.{k}" for k in sorted(e["payload"])]))
    if key.startswith("payload."):
        name = key.removeprefix("payload.")
        payload = {**e["payload"], name: _changed(data, product.map(lambda p: p[name]), e["payload"][name])}
        forged = {**e, "payload": payload}
    else:
        forged = {**e, key: _changed(data, ENVELOPE[key], e[key])}
    assert [r and r[0] for r in every_path(forged)] == ["BAD_HASH", "BAD_HASH"]


@settings(max_examples=200)
@given(chains(type_=UNKNOWN_TYPE, max_size=3), st.data())
def test_a_change_of_type_or_version_fails_with_bad_hash(chain, data):
    # on the till's path, where an event of a type it does not know is kept: its payload is not read
    e = data.draw(st.sampled_from(chain))
    key = data.draw(st.sampled_from(sorted(UNKNOWN_ONLY)))
    forged = {**e, key: _changed(data, UNKNOWN_ONLY[key].filter(lambda t: t not in PAYLOAD_TYPES), e[key])}
    assert check_event(msgspec.convert(forged, WireEvent), keep_unknown=True).reject[0] == "BAD_HASH"


def _push(state: BatchState, events: list[dict]):
    now = int(time.time() * 1000)
    return decide_batch(state, [check_event(e, now_ms=now) for e in events])


@settings(max_examples=100)
@given(chains(min_size=2, max_size=5), st.data())
def test_a_wrong_prev_hash_breaks_the_chain_where_the_predecessor_is_known(chain, data):
    i = data.draw(st.integers(0, len(chain) - 1))
    e = chain[i]
    forged = seal({**e, "prev_hash": _changed(data, hex64, e["prev_hash"])})  # its hash matches its content
    assert every_path(forged) == [None, None]
    predecessor = GENESIS if i == 0 else chain[i - 1]["hash"]
    assert breaks_chain(forged["prev_hash"], predecessor)
    assert not breaks_chain(forged["prev_hash"], None)
    state = BatchState(e["store_id"], e["device_id"], 1, "manual")
    if i:  # the server holds the predecessor
        p = chain[i - 1]
        state.at_seq[p["seq"]] = (p["event_id"], p["hash"], p["prev_hash"])
    [result], writes = _push(state, [forged])
    assert (result.status, result.code) == ("rejected", "BROKEN_CHAIN")
    assert writes.events == []
    if i:  # the predecessor not received yet: no verdict on the link until it comes
        [result], writes = _push(BatchState(e["store_id"], e["device_id"], 1, "manual"), [forged])
        assert result.status == "accepted" and len(writes.events) == 1


@given(chains(min_size=2, max_size=2))
def test_the_server_checks_the_clock_of_clock_ordered_events_only(chain):
    now = int(time.time() * 1000)
    ahead = seal({**chain[0], "hlc": pack(now + 5 * 60 * 1000 + 1000, 0)})
    assert check_event(ahead, now_ms=now).reject[0] == "CLOCK_SKEW"
    assert check_event(ahead).reject is None  # a path that gives no time does not check it
    assert check_event(msgspec.convert(ahead, WireEvent), keep_unknown=True).reject is None
    fact = seal({**ahead, "type": "stock.adjusted", "payload": {"product_id": "p", "delta": -1, "reason": "damaged"}})
    assert check_event(fact, now_ms=now).reject is None


def test_what_is_not_an_event_is_invalid_with_the_protocol_codes():
    assert check_event([1, 2]).reject == ("INVALID", "an event must be an object")
    assert check_event({"event_id": "e1"}).reject[0] == "INVALID"
    assert check_event({"event_id": "e1"}).event_id == "e1"
    assert check_event({"event_id": 5}).event_id == ""
