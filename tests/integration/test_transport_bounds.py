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
