"""HTTP transport to `caja serve` (PROTOCOL.md): requests.Session, msgpack bodies, gzip, timeouts, the token.

An https server's certificate is always verified: against `[sync] ca_file` when it is set, else against the
system's trusted CAs (`ssl.get_default_verify_paths()`, falling back to certifi's bundle). Nothing turns the
check off, and the environment (`REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`) does not replace what was chosen. A
certificate that does not verify is a permanent error whose message says what to fix.
"""

from __future__ import annotations

import gzip
import os
import ssl
import zlib
from collections.abc import Sequence
from typing import Any

import msgspec
import requests

from ..protocol import (
    MSGPACK,
    NOT_DECODED,
    DeviceMe,
    DevicesResponse,
    Health,
    KeyResponse,
    PullResponse,
    PushResponse,
    Result,
)

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 20.0
MAX_ANSWER = 16 * 1024 * 1024  # PROTOCOL.md "Trust", Sizes: on the wire and once inflated
_CHUNK = 64 * 1024
# gzip level of a push: level 1 deflates a batch of events in half the time of level 5 (8.7 against 17.3 us an
# event here) for ~11 % more bytes (288 against 258 an event): on a till's CPU that is the better trade
PUSH_GZIP_LEVEL = 1


class TransportError(Exception):
    """Could not get an answer; `retry_after` when the server asked to wait; `permanent` when retrying won't help."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        self.status = status


class Transport:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        user_agent: str = "caja-till",
        ca_file: str = "",
    ) -> None:
        self.base = base_url.rstrip("/") + "/v1"
        self.ca_file = os.path.expanduser(ca_file) if ca_file else ""
        self.verify: str | bool = self.ca_file or system_trust()
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {token}", "Accept": MSGPACK, "Accept-Encoding": "gzip", "User-Agent": user_agent}
        )
        self.timeout = timeout
        self.bytes_sent = 0
        self.bytes_received = 0

    def close(self) -> None:
        self.session.close()

    def _call(self, method: str, path: str, *, body: bytes | None = None, params: dict | None = None) -> bytes:
        headers = {}
        if body is not None:
            headers = {"Content-Type": MSGPACK, "Content-Encoding": "gzip"}
            self.bytes_sent += len(body)
        if self.ca_file and not os.access(self.ca_file, os.R_OK):
            raise TransportError(f"[sync] ca_file {self.ca_file}: cannot read it; fix the path", permanent=True)
        try:
            r = self.session.request(
                method,
                self.base + path,
                data=body,
                params=params,
                headers=headers,
                timeout=self.timeout,
                stream=True,
                verify=self.verify,  # per request: a session's own setting would lose to REQUESTS_CA_BUNDLE
            )
            try:
                raw = _read_bounded(r)
            except TransportError:
                r.close()  # the rest of an oversized answer is never read
                raise
        except requests.exceptions.SSLError as exc:
            raise TransportError(tls_problem(exc, self.ca_file), permanent=True) from None
        except (requests.RequestException, OSError) as exc:
            raise TransportError(f"network: {exc.__class__.__name__}") from None
        self.bytes_received += len(raw)
        if r.headers.get("Content-Encoding") == "gzip":
            raw = _inflate_bounded(raw)
        if r.status_code == 200:
            return raw
        message = _error_message(raw)
        if r.status_code == 429:
            try:
                wait = float(r.headers.get("Retry-After", "5"))
            except ValueError:
                wait = 5.0
            raise TransportError(f"rate limited: {message}", retry_after=wait, status=429)
        if r.status_code >= 500:
            raise TransportError(f"server {r.status_code}: {message}", status=r.status_code)
        # 400/401/403/413: the request itself is wrong; retrying the same will not help
        raise TransportError(f"server said {r.status_code}: {message}", permanent=True, status=r.status_code)

    def health(self) -> Health:
        return self._decode(self._call("GET", "/health"), Health)

    def push(self, events: Sequence[dict[str, Any]]) -> PushResponse:
        body = gzip.compress(msgspec.msgpack.encode({"events": [_msgpackable(e) for e in events]}), PUSH_GZIP_LEVEL)
        return self._decode(self._call("POST", "/events", body=body), PushResponse)

    def pull(self, after: int, limit: int = 500, include_own: bool = False) -> PullResponse:
        raw = self._call("GET", "/events", params={"after": after, "limit": limit, "include_own": int(include_own)})
        return self._decode(raw, PullResponse)

    def devices_me(self) -> DeviceMe:
        return self._decode(self._call("GET", "/devices/me"), DeviceMe)

    def register_key(self, public_key: str, from_seq: int) -> KeyResponse:
        """`PUT /v1/devices/me/key`; another key already registered: a permanent TransportError, status 409."""
        body = gzip.compress(msgspec.msgpack.encode({"public_key": public_key, "from_seq": from_seq}))
        return self._decode(self._call("PUT", "/devices/me/key", body=body), KeyResponse)

    def devices(self) -> DevicesResponse:
        return self._decode(self._call("GET", "/devices"), DevicesResponse)

    @staticmethod
    def _decode(raw: bytes, type_: Any) -> Any:
        """An answer of `type_`; anything else (a wrong shape, a string that is not UTF-8, nesting too deep) is a
        TransportError, retried later like a network error: never a crash of the sync process."""
        try:
            return msgspec.msgpack.decode(raw, type=type_)
        except NOT_DECODED as exc:
            raise TransportError(f"an answer that is not the protocol's: {str(exc)[:200]}") from None


def system_trust() -> str | bool:
    """The system's CA bundle (file or folder, as OpenSSL finds it, `SSL_CERT_FILE` included); True (certifi's
    bundle, requests' default) on a system without one."""
    paths = ssl.get_default_verify_paths()
    return paths.cafile or paths.capath or True


def tls_problem(exc: BaseException, ca_file: str) -> str:
    """A person's sentence for a failed TLS handshake: what is wrong with the server's certificate, and what to
    set; never just `SSLError`."""
    found = _cause(exc, ssl.SSLCertVerificationError)
    if found is None:
        text = str(exc)
        reason = "certificate verify failed" if "CERTIFICATE_VERIFY_FAILED" in text else ""
        if not reason:
            return f"TLS failed ({_short(text)}): is the server serving https on that port?"
    else:
        reason = str(getattr(found, "verify_message", "") or found).rstrip(".")
    low = reason.lower()
    if "hostname" in low or "ip address mismatch" in low or "doesn't match" in low:
        return (
            f"the server's certificate is not for this address ({reason}): use the name it was made for in "
            "[sync] server_url, or make the certificate for this one"
        )
    if "expired" in low:
        return f"the server's certificate has expired ({reason}): renew it on the server"
    if ca_file:
        return (
            f"the server's certificate is not trusted: it is not signed by [sync] ca_file {ca_file} ({reason}); "
            "set ca_file to the CA that signed it"
        )
    return (
        f"the server's certificate is not trusted ({reason}): set [sync] ca_file to the CA that signed it "
        "(or give the server a certificate from a public CA)"
    )


def _cause(exc: BaseException | None, kind: type[BaseException]) -> BaseException | None:
    """The first `kind` among an exception, its arguments (urllib3 wraps the reason there) and its causes."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        if isinstance(e, kind):
            return e
        seen.add(id(e))
        todo += [*e.args, getattr(e, "reason", None), e.__cause__, e.__context__]
    return None


def _short(text: str) -> str:
    return text if len(text) <= 160 else text[:157] + "..."


def _read_bounded(r: requests.Response) -> bytes:
    """The answer's bytes as sent, refused (a network error: retried later) past MAX_ANSWER, without ever
    holding more than that in memory."""
    declared = r.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER:
        raise TransportError(f"network: an answer of {int(declared)} bytes, over the {MAX_ANSWER} allowed")
    parts, size = [], 0
    while chunk := r.raw.read(_CHUNK, decode_content=False):
        size += len(chunk)
        if size > MAX_ANSWER:
            raise TransportError(f"network: an answer over the {MAX_ANSWER} bytes allowed")
        parts.append(chunk)
    return b"".join(parts)


def _inflate_bounded(raw: bytes) -> bytes:
    """gzip inflated to at most MAX_ANSWER bytes: a small answer that inflates to gigabytes is refused."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, MAX_ANSWER)
    except zlib.error:
        raise TransportError("network: an answer that is not valid gzip") from None
    if inflater.unconsumed_tail:
        raise TransportError(f"network: an answer that inflates beyond the {MAX_ANSWER} bytes allowed")
    if not inflater.eof:
        raise TransportError("network: a truncated answer")
    return out


def _msgpackable(e: dict[str, Any]) -> dict[str, Any]:
    p = e["payload"]
    if isinstance(p, msgspec.Raw):
        return {**e, "payload": msgspec.json.decode(p)}
    return e


def _error_message(raw: bytes) -> str:
    for decode in (msgspec.msgpack.decode, msgspec.json.decode):
        try:
            body = decode(raw)
            if isinstance(body, dict) and "message" in body:
                return str(body["message"])
        except NOT_DECODED:
            continue
    return raw[:200].decode("utf-8", "replace")


__all__ = ["Transport", "TransportError", "Result"]
