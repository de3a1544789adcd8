"""Signed peer requests (PROTOCOL.md "Peers on the shop's LAN").

A request carries the caller's device id, a timestamp and an Ed25519 signature, by the caller's device key,
over the method, path, query, timestamp and the body's SHA-256:

    X-Caja-Peer: device=T2;ts=1764270000000;sig=<128 hex>

The callee answers only a device of its store whose public key it knows (the server's device list, or a till
paired on the sync screen), never its own device id, and only within five minutes of its own clock (a
recorded request cannot be replayed later). The signature is made over the message's SHA-256 with the same
key functions as an event's (protocol/keys.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from ..protocol.keys import DeviceKey, signature_ok

HEADER = "X-Caja-Peer"
WINDOW_MS = 5 * 60 * 1000
_HEADER_RE = re.compile(r"^device=([^;]{1,64});ts=(\d{1,16});sig=([0-9a-f]{128})$")


class PeerAuthError(Exception):
    """Why a request is not answered (401: no or bad signature; 403: a device this till does not serve)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _digest(method: str, path: str, query: str, ts: int, body: bytes) -> str:
    message = f"{method.upper()}\n{path}\n{query}\n{ts}\n{hashlib.sha256(body).hexdigest()}".encode()
    return hashlib.sha256(message).hexdigest()


def sign_request(key: DeviceKey, device_id: str, method: str, path: str, query: str, body: bytes, now_ms: int) -> str:
    """The header value for a request of this till."""
    return f"device={device_id};ts={now_ms};sig={key.sign(_digest(method, path, query, now_ms, body))}"


def check_request(
    header: str | None,
    method: str,
    path: str,
    query: str,
    body: bytes,
    *,
    keys: Mapping[str, str],
    own_device: str,
    now_ms: int,
) -> str:
    """The calling device's id, or PeerAuthError."""
    m = _HEADER_RE.match(header or "")
    if m is None:
        raise PeerAuthError(401, f"a peer request needs a signed {HEADER} header")
    device, ts, sig = m.group(1), int(m.group(2)), m.group(3)
    if device == own_device:
        raise PeerAuthError(403, "this till's own device id")
    public = keys.get(device)
    if public is None:
        raise PeerAuthError(403, f"device '{device}' is not a till of this store whose key this till knows")
    if abs(now_ms - ts) > WINDOW_MS:
        raise PeerAuthError(401, "the request's time is more than 5 minutes off this till's clock")
    if not signature_ok(public, _digest(method, path, query, ts, body), sig):
        raise PeerAuthError(401, "the request's signature does not check")
    return device
