"""Pairing two tills on their screens, for a shop whose tills have never reached the server (so neither knows
the other's key from `GET /v1/devices`).

On till A a manager chooses "Show a pairing code": A keeps a one-time offer (a 6-digit code, valid 5 minutes,
at most 5 tries) in its database, where its sync process finds it. On till B a manager types A's address and
the code: B sends `POST /v1/peer/pair` with its store, device, public key, first signed seq and peer port,
and an HMAC-SHA256 of those under the code; A checks the HMAC and the store, keeps B's key and address, ends
the offer, and answers with its own, HMAC'd the same way, which B checks before keeping them. Each side thus
knows the other holds the code its manager saw; from then on they talk with signed requests like any peers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

import msgspec
import requests

from ..domain.clock import system_ms
from ..protocol import NOT_DECODED
from ..store import peers as peer_store

OFFER_MS = 5 * 60 * 1000
TRIES = 5


class PairingError(Exception):
    """Pairing did not happen; the message says why and what to do."""


class PairRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    store_id: str
    device_id: str
    public_key: str
    from_seq: int
    port: int = 0
    mac: str = ""


def mac_of(code: str, p: PairRequest) -> str:
    fields = f"{p.store_id}\n{p.device_id}\n{p.public_key}\n{p.from_seq}\n{p.port}".encode()
    return hmac.new(code.encode(), fields, hashlib.sha256).hexdigest()


def new_offer(store: Any) -> str:
    """A fresh code for this till (any earlier offer ends); shown to the manager as 123-456."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    store.set_meta("pair_offer", json.dumps({"code": code, "until": system_ms() + OFFER_MS, "tries": 0}))
    return code


def _me(store: Any, port: int, code: str) -> PairRequest:
    if store.key is None:
        raise PairingError("this till has no device key; open it with `caja` once so it makes one")
    me = PairRequest(
        store_id=store.store_id,
        device_id=store.device_id,
        public_key=store.key.public_hex,
        from_seq=store.key_from_seq,
        port=port,
    )
    me.mac = mac_of(code, me)
    return me


def answer(store: Any, body: bytes, remote_host: str, port: int) -> tuple[int, bytes]:
    """The callee's side (serve.py): check the request against the offer; (HTTP status, JSON body)."""
    try:
        req = msgspec.json.decode(body, type=PairRequest)
    except NOT_DECODED:
        return 400, b'{"error": "not a pairing request"}'
    offer = json.loads(store.meta("pair_offer") or "null")
    if not offer or offer["until"] < system_ms() or offer["tries"] >= TRIES:
        return 403, b'{"error": "no pairing code is shown on that till now; show one there first"}'
    offer["tries"] += 1
    store.set_meta("pair_offer", json.dumps(offer))
    if not hmac.compare_digest(req.mac, mac_of(offer["code"], req)):
        return 403, b'{"error": "wrong pairing code"}'
    if req.store_id != store.store_id or req.device_id == store.device_id:
        return 403, b'{"error": "a till of another store, or of this till\'s own device id"}'
    peer_store.add_paired_key(store, req.device_id, req.public_key, req.from_seq, f"{remote_host}:{req.port}")
    store.set_meta("pair_offer", "")
    return 200, msgspec.json.encode(_me(store, port, offer["code"]))


def pair_with(store: Any, host: str, port: int, code: str, my_port: int) -> str:
    """The caller's side (a manager on this till typed the other till's address and code): the paired device."""
    code = code.replace("-", "").replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        raise PairingError("the pairing code is the 6 digits the other till shows")
    me = _me(store, my_port, code)
    try:
        r = requests.post(f"http://{host}:{port}/v1/peer/pair", data=msgspec.json.encode(me), timeout=(3, 10))
    except requests.RequestException as exc:
        raise PairingError(f"cannot reach {host}:{port} ({exc.__class__.__name__}); check the address") from None
    if r.status_code != 200:
        try:
            message = r.json().get("error", r.text[:200])
        except ValueError:
            message = r.text[:200]
        raise PairingError(f"{host}:{port} said: {message}")
    try:
        them = msgspec.json.decode(r.content[:65536], type=PairRequest)
    except NOT_DECODED:
        raise PairingError(f"{host}:{port} is not a Caja till") from None
    if not hmac.compare_digest(them.mac, mac_of(code, them)) or them.store_id != store.store_id:
        raise PairingError(f"{host}:{port} did not prove it holds the code; nothing was kept")
    peer_store.add_paired_key(store, them.device_id, them.public_key, them.from_seq, f"{host}:{them.port or port}")
    return them.device_id
