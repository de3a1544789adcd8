"""What every endpoint shares at the HTTP edge: the error a resource raises, content negotiation, the bounded
and possibly gzipped body in, the encoded and possibly gzipped answer out."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import falcon
import msgspec

from ..protocol import JSON, MAX_BODY, MSGPACK, ErrorBody
from .storage import now_ms

GZIP_MIN = 1024


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def media_type(req: falcon.Request) -> str:
    ct = (req.content_type or JSON).split(";")[0].strip().lower()
    if ct not in (JSON, MSGPACK):
        raise ApiError(400, "BAD_CONTENT_TYPE", f"Content-Type must be {JSON} or {MSGPACK}, not {ct}")
    return ct


def accept(req: falcon.Request, default: str = JSON) -> str:
    accepted = (req.get_header("Accept") or "").lower()
    if MSGPACK in accepted:
        return MSGPACK
    if JSON in accepted:
        return JSON
    return default


def wants_gzip(req: falcon.Request) -> bool:
    return "gzip" in (req.get_header("Accept-Encoding") or "").lower()


def kept_alive(req: falcon.Request) -> bool:
    """Whether the connection stays open after this answer (gunicorn's rule: the Connection header, else the
    HTTP version), so the client's next request on it comes to this same worker process."""
    connection = (req.get_header("Connection") or "").strip().lower()
    if connection in ("close", "keep-alive"):
        return connection == "keep-alive"
    return req.env.get("SERVER_PROTOCOL", "HTTP/1.1") not in ("HTTP/1.0", "HTTP/0.9")


def respond(req: falcon.Request, resp: falcon.Response, obj: Any, media: str, status: int = 200) -> None:
    data = msgspec.msgpack.encode(obj) if media == MSGPACK else msgspec.json.encode(obj)
    zipped = len(data) >= GZIP_MIN and wants_gzip(req)
    respond_bytes(resp, gzip.compress(data, compresslevel=1) if zipped else data, media, gzipped=zipped, status=status)


def respond_bytes(resp: falcon.Response, data: bytes, media: str, *, gzipped: bool, status: int = 200) -> None:
    """An answer already encoded (and gzip-compressed when `gzipped`, by the rule of `respond`)."""
    if gzipped:
        resp.set_header("Content-Encoding", "gzip")
    resp.set_header("Vary", "Accept-Encoding")
    resp.status = status
    resp.content_type = media
    resp.data = data


def respond_error(
    req: falcon.Request, resp: falcon.Response, status: int, code: str, message: str, media: str = JSON
) -> None:
    """An error body of PROTOCOL.md: its code, a message a person can act on, the server's time."""
    respond(req, resp, ErrorBody(error=code, message=message, server_time_ms=now_ms()), media, status=status)


def read_body(req: falcon.Request) -> bytes:
    length = req.content_length
    if length is not None and length > MAX_BODY:
        raise ApiError(413, "TOO_LARGE", f"the body is {length} bytes; the limit is {MAX_BODY}")
    raw = req.bounded_stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise ApiError(413, "TOO_LARGE", f"the body is over the limit of {MAX_BODY} bytes")
    encoding = (req.get_header("Content-Encoding") or "identity").strip().lower()
    if encoding == "gzip":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = d.decompress(raw, MAX_BODY + 1)
        except zlib.error:
            raise ApiError(400, "BAD_ENCODING", "the body is not valid gzip") from None
        if len(raw) > MAX_BODY or d.unconsumed_tail:
            raise ApiError(413, "TOO_LARGE", f"the decompressed body is over the limit of {MAX_BODY} bytes")
        if not d.eof:
            raise ApiError(400, "BAD_ENCODING", "the gzip body is truncated")
    elif encoding not in ("identity", ""):
        raise ApiError(400, "BAD_ENCODING", f"Content-Encoding {encoding} is not supported; use gzip")
    return raw
