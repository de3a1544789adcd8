"""PROTOCOL.md "Trust", Sizes: the till refuses an answer over 16 MiB, on the wire or once inflated, as a
network error (retried later), never by running out of memory. Against a hostile server on 127.0.0.1."""

from __future__ import annotations

import gzip
import resource

import msgspec
import pytest

from caja_tui.sync.transport import MAX_ANSWER, Transport, TransportError
from tests.hostile import HostileServer


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pull_answer(body: bytes, headers: dict[str, str]):
    return {
        ("GET", "/v1/events"): lambda _query, _body: (200, {"Content-Type": "application/msgpack", **headers}, body)
    }


def test_a_small_answer_that_inflates_to_a_gigabyte_is_refused_without_inflating_it():
    bomb = gzip.compress(b"\0" * (256 * 1024 * 1024), compresslevel=9)  # 256 KB that inflate to 256 MiB
    assert len(bomb) < 1024 * 1024
    before = _peak_mb()
    with HostileServer(_pull_answer(bomb, {"Content-Encoding": "gzip"})) as srv:
        t = Transport(srv.url, "token")
        with pytest.raises(TransportError) as e:
            t.pull(0)
    assert "inflates beyond" in str(e.value) and not e.value.permanent  # retried later, like a network error
    assert _peak_mb() - before < 100  # the 256 MiB never existed in memory


def test_an_answer_over_sixteen_mebibytes_is_refused_whatever_it_declares():
    big = b"x" * (MAX_ANSWER + 1)
    with HostileServer(_pull_answer(big, {})) as srv:
        with pytest.raises(TransportError) as e:
            Transport(srv.url, "token").pull(0)
    assert "over the" in str(e.value) and not e.value.permanent


def test_a_normal_gzip_answer_still_arrives_whole():
    body = msgspec.msgpack.encode({"events": [], "cursor": 0, "more": False, "server_time_ms": 1_764_270_000_000})
    with HostileServer(_pull_answer(gzip.compress(body), {"Content-Encoding": "gzip"})) as srv:
        page = Transport(srv.url, "token").pull(0)
    assert page.cursor == 0 and page.more is False


def _page_with_actor(actor: bytes, payload: bytes = b"\x80") -> bytes:
    """A pull page of one event whose actor is the given msgpack string bytes and whose payload's "x" is the given
    msgpack bytes (placed byte for byte)."""
    event = {
        "event_id": "e1",
        "type": "sale.created",
        "store_id": "s",
        "device_id": "T1",
        "seq": 1,
        "hlc": 1_764_270_000_000 << 16,
        "created_at": 1,
        "actor": "ZZZZ",
        "v": 1,
        "prev_hash": "0" * 64,
        "hash": "0" * 64,
        "payload": {"x": "YYYY"},
    }
    page = msgspec.msgpack.encode({"events": [event], "cursor": 1, "more": False, "server_time_ms": 1})
    return page.replace(b"\xa4ZZZZ", b"\xa4" + actor).replace(b"\xa4YYYY", payload)


@pytest.mark.parametrize(
    "body",
    [
        _page_with_actor(b"\xff\xfe\xfd\xfc"),  # a string that is not UTF-8
        _page_with_actor(b"Ana!", b"\x91" * 100_000 + b"\xc0"),  # a payload nested 100,000 deep
    ],
    ids=["not-utf8", "too-deep"],
)
def test_a_pull_answer_that_is_not_the_protocols_is_a_network_error_not_a_crash(body):
    assert msgspec.msgpack.decode(_page_with_actor(b"Ana!")).get("events")  # the same page, readable, decodes
    with HostileServer(_pull_answer(body, {})) as srv:
        t = Transport(srv.url, "token")
        with pytest.raises(TransportError) as e:
            t.pull(0)
    assert "not the protocol's" in str(e.value) and not e.value.permanent  # the sync process goes on, later


def test_a_health_answer_that_is_not_the_protocols_is_a_network_error():
    answers = {("GET", "/v1/health"): lambda _q, _b: (200, {"Content-Type": "application/msgpack"}, b"\xa2\xff\xff")}
    with HostileServer(answers) as srv:
        with pytest.raises(TransportError) as e:
            Transport(srv.url, "token").health()
    assert "not the protocol's" in str(e.value)


def test_a_peer_page_that_is_not_utf8_is_refused_as_a_peer_error():
    from caja_tui.peers.client import decode_events
    from caja_tui.peers.pairing import answer

    page = b'{"events":[{"event_id":"\xff\xfe"}],"more":false}'
    with pytest.raises(TransportError) as e:
        decode_events(page)
    assert "not the protocol's" in str(e.value)
    status, body = answer(None, b'{"device_id":"\xff"}', "127.0.0.1", 7870)  # pairing: refused before anything
    assert status == 400 and b"not a pairing request" in body
