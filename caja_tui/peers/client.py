"""Asking one peer: its heads, a device's events after a seq, a poke. Signed requests (auth.py), answers read
within the same 16 MiB bound as the server's (sync/transport.py), typed by the protocol's wire types."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec
import requests

from ..domain.clock import system_ms
from ..protocol import NOT_DECODED, WireEvent
from ..sync.transport import TransportError, _read_bounded
from .auth import HEADER, sign_request

TIMEOUT = (2.0, 10.0)


class Head(msgspec.Struct):
    seq: int
    hash: str


class Heads(msgspec.Struct):
    store_id: str
    device_id: str
    heads: dict[str, Head]


class PeerEvents(msgspec.Struct):
    events: list[WireEvent]
    more: bool


class RawPayloadEvent(WireEvent, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A WireEvent whose payload (a JSON object) is kept as the bytes it came as: the event check decodes them once,
    into the payload's type, and takes them as the canonical payload when they are (protocol/check.py)."""

    payload: msgspec.Raw  # type: ignore[assignment]


class _RawPage(msgspec.Struct):
    events: list[RawPayloadEvent]
    more: bool


class PeerClient:
    def __init__(self, store: Any, host: str, port: int) -> None:
        self.store, self.host, self.port = store, host, port
        self.base = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def _call(self, method: str, path: str, query: dict[str, Any] | None = None) -> bytes:
        key = self.store.key
        if key is None:
            raise TransportError("this till has no device key: it cannot talk to peers", permanent=True)
        qs = urlencode(query or {})
        signed = sign_request(key, self.store.device_id, method, path, qs, b"", system_ms())
        url = self.base + path + (f"?{qs}" if qs else "")
        try:
            r = self.session.request(method, url, headers={HEADER: signed}, timeout=TIMEOUT, stream=True)
            try:
                raw = _read_bounded(r)
            finally:
                r.close()
        except (requests.RequestException, OSError) as exc:
            raise TransportError(f"peer {self.host}:{self.port}: {exc.__class__.__name__}") from None
        if r.status_code in (200, 204):
            return raw
        raise TransportError(
            f"peer {self.host}:{self.port} said {r.status_code}: {raw[:200].decode(errors='replace')}",
            permanent=r.status_code in (401, 403),
            status=r.status_code,
        )

    def heads(self) -> Heads:
        return _decode(self._call("GET", "/v1/peer/heads"), Heads)

    def events(self, device_id: str, after_seq: int, limit: int = 1000) -> PeerEvents:
        raw = self._call("GET", "/v1/peer/events", {"device": device_id, "after_seq": after_seq, "limit": limit})
        return decode_events(raw)

    def poke(self) -> None:
        self._call("POST", "/v1/peer/poke")


def decode_events(raw: bytes) -> PeerEvents:
    """A page of events, each payload kept as its bytes (RawPayloadEvent). The same pages and the same refusals as
    decoding PeerEvents: a page that does not decode so, or with a payload that is not an object, is decoded as
    PeerEvents (and refused with its error)."""
    try:
        page = msgspec.json.decode(raw, type=_RawPage)
    except NOT_DECODED:
        page = None
    if page is None or not all(memoryview(e.payload)[:1] == b"{" for e in page.events):
        return _decode(raw, PeerEvents)
    return PeerEvents(events=page.events, more=page.more)  # type: ignore[arg-type]


def _decode(raw: bytes, type_: Any) -> Any:
    try:
        return msgspec.json.decode(raw, type=type_)
    except NOT_DECODED as exc:
        raise TransportError(f"a peer answer that is not the protocol's: {str(exc)[:200]}") from None
