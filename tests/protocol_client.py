"""A client that speaks PROTOCOL.md over real HTTP, written from the page, not from the server's code.

It builds events with its own canonical JSON (json.dumps, sorted keys, no spaces, raw UTF-8) and its own
hash chain, and signs them (version 2, "Trust") with `cryptography`'s Ed25519 directly, so the tests check the
server against the contract rather than against itself.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
import uuid
from typing import Any

import msgspec
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

GENESIS = "0" * 64


def canonical(event: dict[str, Any]) -> bytes:
    body = {k: v for k, v in event.items() if k not in ("hash", "sig")}  # sig is not part of canonical(e)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def seal(event: dict[str, Any]) -> dict[str, Any]:
    event["hash"] = hashlib.sha256(bytes.fromhex(event["prev_hash"]) + canonical(event)).hexdigest()
    return event


def public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def sign(key: Ed25519PrivateKey, event: dict[str, Any]) -> dict[str, Any]:
    """The event with `sig`: the Ed25519 signature of bytes.fromhex(hash)."""
    return {**event, "sig": key.sign(bytes.fromhex(event["hash"])).hex()}


class Device:
    """One till's chain of events: gapless seq, hlc, prev_hash -> hash; with a key, signed from `signs_from` on."""

    def __init__(self, store_id: str, device_id: str, *, seq: int = 0, last_hash: str = GENESIS) -> None:
        self.store_id, self.device_id = store_id, device_id
        self.seq, self.last_hash = seq, last_hash
        self.hlc = int(time.time() * 1000) << 16
        self.key: Ed25519PrivateKey | None = None
        self.signs_from = 0

    def make_key(self) -> str:
        """A new key pair; the device signs from its next seq. The public key (hex), to register."""
        self.key, self.signs_from = Ed25519PrivateKey.generate(), self.seq + 1
        return public_hex(self.key)

    def event(self, type_: str, payload: dict[str, Any], *, actor: str = "ana") -> dict[str, Any]:
        self.seq += 1
        self.hlc = max(self.hlc + 1, int(time.time() * 1000) << 16)
        e = seal(
            {
                "event_id": str(uuid.uuid4()),
                "type": type_,
                "store_id": self.store_id,
                "device_id": self.device_id,
                "seq": self.seq,
                "hlc": self.hlc,
                "created_at": int(time.time() * 1000),
                "actor": actor,
                "v": 1,
                "prev_hash": self.last_hash,
                "payload": payload,
            }
        )
        self.last_hash = e["hash"]
        return sign(self.key, e) if self.key is not None and self.seq >= self.signs_from else e

    # a few ready payloads
    def product_created(self, product_id: str | None = None, sku: str = "A-1", price: int = 1000, **kw: Any) -> dict:
        return self.event(
            "product.created",
            {
                "product_id": product_id or str(uuid.uuid4()),
                "sku": sku,
                "name": kw.get("name", "Pan dulce"),
                "price": price,
                "tax_rate": 1600,
                "barcodes": kw.get("barcodes", []),
                "category": "",
            },
        )

    def product_updated(self, product_id: str, changes: dict, base_hlc: int) -> dict:
        return self.event("product.updated", {"product_id": product_id, "changes": changes, "base_hlc": base_hlc})

    def stock_adjusted(self, product_id: str, delta: int = -1) -> dict:
        return self.event("stock.adjusted", {"product_id": product_id, "delta": delta, "reason": "damaged", "note": ""})

    def sale_created(self, product_id: str, qty: int = 1, price: int = 1000) -> dict:
        amount = qty * price
        return self.event(
            "sale.created",
            {
                "sale_id": str(uuid.uuid4()),
                "receipt_no": f"{self.device_id}-{self.seq:06d}",
                "session_id": "sess-1",
                "discount": 0,
                "subtotal": amount,
                "tax": 0,
                "total": amount,
                "payments": [{"method": "cash", "amount": amount, "reference": ""}],
                "change": 0,
                "prices_include_tax": True,
                "customer_id": None,
                "lines": [
                    {
                        "line_no": 1,
                        "product_id": product_id,
                        "sku": "A-1",
                        "name": "Pan",
                        "qty": qty,
                        "unit_price": price,
                        "tax_rate": 0,
                        "discount": 0,
                        "sale_discount": 0,
                        "amount": amount,
                        "tax": 0,
                    }
                ],
            },
        )


class Client:
    def __init__(self, base_url: str, token: str | None, *, fmt: str = "json", gzip_body: bool = False) -> None:
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.fmt = fmt
        self.gzip_body = gzip_body

    def _encode(self, obj: Any) -> tuple[bytes, dict[str, str]]:
        if self.fmt == "msgpack":
            data, ct = msgspec.msgpack.encode(obj), "application/msgpack"
        else:
            data, ct = json.dumps(obj, ensure_ascii=False).encode(), "application/json"
        headers = {"Content-Type": ct, "Accept": ct, "Accept-Encoding": "gzip"}
        if self.gzip_body:
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        return data, headers

    def _decode(self, r: requests.Response) -> Any:
        ct = r.headers.get("Content-Type", "")
        if ct.startswith("application/msgpack"):
            return msgspec.msgpack.decode(r.content)
        return r.json()

    def _send(self, method: str, path: str, **kw: Any) -> requests.Response:
        """Like a till: a dropped keep-alive connection or a 503 is retried (a push is idempotent)."""
        for attempt in range(5):
            try:
                r = self.session.request(method, self.base + path, timeout=30, **kw)
            except requests.ConnectionError:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
                continue
            if r.status_code != 503 or attempt == 4:
                return r
            time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def push_raw(self, body: Any) -> requests.Response:
        data, headers = self._encode(body)
        return self._send("POST", "/v1/events", data=data, headers=headers)

    def push(self, events: list[dict]) -> list[dict]:
        r = self.push_raw({"events": events})
        assert r.status_code == 200, (r.status_code, r.text[:500])
        body = self._decode(r)
        assert isinstance(body["server_time_ms"], int)
        return body["results"]

    def pull(self, after: int = 0, limit: int = 500, include_own: bool = False) -> dict:
        accept = "application/msgpack" if self.fmt == "msgpack" else "application/json"
        r = self._send(
            "GET",
            "/v1/events",
            params={"after": after, "limit": limit, "include_own": int(include_own)},
            headers={"Accept": accept, "Accept-Encoding": "gzip"},
        )
        assert r.status_code == 200, (r.status_code, r.text[:500])
        return self._decode(r)

    def pull_all(self, include_own: bool = False, limit: int = 500) -> list[dict]:
        out, cursor = [], 0
        for _ in range(10_000):
            page = self.pull(cursor, limit, include_own)
            out += page["events"]
            cursor = page["cursor"]
            if not page["more"]:
                return out
        raise AssertionError("pull never finished")

    def register_key(self, public_key: str, from_seq: int) -> requests.Response:
        """PUT /v1/devices/me/key: 200 (also for the same key again), 409 for another key."""
        data, headers = self._encode({"public_key": public_key, "from_seq": from_seq})
        return self._send("PUT", "/v1/devices/me/key", data=data, headers=headers)

    def devices(self) -> list[dict]:
        r = self._send("GET", "/v1/devices")
        assert r.status_code == 200, r.text
        return r.json()["devices"]

    def me(self) -> dict:
        r = self._send("GET", "/v1/devices/me")
        assert r.status_code == 200, r.text
        return r.json()
