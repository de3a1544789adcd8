"""The Falcon WSGI app: the endpoints of PROTOCOL.md. Thin resources; storage does the work.

Nothing a client sends produces a 500: bad input is a 4xx with a clear message, a storage problem a 503.
"""

from __future__ import annotations

import gzip
import logging
import threading
import time
import traceback
import zlib
from collections.abc import Callable
from typing import Any

import falcon
import msgspec
from peewee import DatabaseError, InterfaceError, OperationalError

from .. import __version__
from ..host.logs import log_event
from ..protocol import (
    DEFAULT_PULL,
    JSON,
    MAX_BODY,
    MAX_PULL,
    MSGPACK,
    DeviceMe,
    ErrorBody,
    Health,
    PushResponse,
)
from . import openapi
from .ratelimit import RateLimiter, retry_after_header
from .storage import DeviceAuth, ServerStorage, now_ms
from .validate import check, parse_events_lenient

GZIP_MIN = 1024
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0
        self.n = 0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            for i, b in enumerate(LATENCY_BUCKETS):
                if seconds <= b:
                    self.counts[i] += 1
                    break
            else:
                self.counts[-1] += 1
            self.total += seconds
            self.n += 1

    def render(self, name: str) -> list[str]:
        out, acc = [f"# TYPE {name} histogram"], 0
        for b, c in zip(LATENCY_BUCKETS, self.counts, strict=False):
            acc += c
            out.append(f'{name}_bucket{{le="{b}"}} {acc}')
        out.append(f'{name}_bucket{{le="+Inf"}} {self.n}')
        out.append(f"{name}_sum {self.total:.6f}")
        out.append(f"{name}_count {self.n}")
        return out


class Server:
    """Per-process state: storage (opened lazily, after gunicorn forks), rate limits, metrics."""

    def __init__(
        self,
        storage_factory: Callable[[], ServerStorage],
        *,
        rate: float = 50.0,
        burst: int = 100,
        log: logging.Logger | None = None,
    ) -> None:
        self._factory = storage_factory
        self._storage: ServerStorage | None = None
        self._lock = threading.Lock()
        self.limiter = RateLimiter(rate, burst)
        self.log = log or logging.getLogger("caja.server")  # JSON lines where `caja serve` sends them (host/logs)
        self.push_latency = Histogram()
        self.pull_latency = Histogram()

    @property
    def storage(self) -> ServerStorage:
        if self._storage is None:
            with self._lock:
                if self._storage is None:
                    self._storage = self._factory()
        return self._storage


def _media_type(req: falcon.Request) -> str:
    ct = (req.content_type or JSON).split(";")[0].strip().lower()
    if ct not in (JSON, MSGPACK):
        raise ApiError(400, "BAD_CONTENT_TYPE", f"Content-Type must be {JSON} or {MSGPACK}, not {ct}")
    return ct


def _accept(req: falcon.Request, default: str = JSON) -> str:
    accept = (req.get_header("Accept") or "").lower()
    if MSGPACK in accept:
        return MSGPACK
    if JSON in accept:
        return JSON
    return default


def _respond(req: falcon.Request, resp: falcon.Response, obj: Any, media: str, status: int = 200) -> None:
    data = msgspec.msgpack.encode(obj) if media == MSGPACK else msgspec.json.encode(obj)
    if len(data) >= GZIP_MIN and "gzip" in (req.get_header("Accept-Encoding") or "").lower():
        data = gzip.compress(data, compresslevel=1)
        resp.set_header("Content-Encoding", "gzip")
    resp.set_header("Vary", "Accept-Encoding")
    resp.status = status
    resp.content_type = media
    resp.data = data


def _read_body(req: falcon.Request) -> bytes:
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


class Authenticated:
    def __init__(self, server: Server) -> None:
        self.server = server

    def auth(self, req: falcon.Request) -> DeviceAuth:
        header = req.get_header("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                401,
                "UNAUTHORIZED",
                "send Authorization: Bearer <token> (from caja serve enroll)",
                {"WWW-Authenticate": "Bearer"},
            )
        auth = self.server.storage.authenticate(token.strip())
        if auth is None:
            raise ApiError(401, "UNAUTHORIZED", "unknown or revoked token", {"WWW-Authenticate": "Bearer"})
        wait = self.server.limiter.take((auth.store_id, auth.device_id))
        if wait:
            raise ApiError(
                429,
                "RATE_LIMITED",
                "too many requests from this device; slow down",
                {"Retry-After": retry_after_header(wait)},
            )
        req.context.auth = auth
        return auth


class HealthResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _respond(req, resp, Health(status="ok", version=__version__, server_time_ms=now_ms()), _accept(req))


class EventsResource(Authenticated):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        t0 = time.perf_counter()
        auth = self.auth(req)
        media = _media_type(req)
        body = _read_body(req)
        try:
            doc = msgspec.msgpack.decode(body) if media == MSGPACK else msgspec.json.decode(body)
            raw_events = parse_events_lenient(doc)
        except (msgspec.DecodeError, ValueError) as exc:
            raise ApiError(400, "BAD_BODY", f"cannot read the push body: {exc}") from None
        for e in raw_events:
            if isinstance(e, dict):
                for key, mine in (("store_id", auth.store_id), ("device_id", auth.device_id)):
                    if key in e and e[key] != mine:
                        raise ApiError(
                            403, "FORBIDDEN", f"this token may only push events of {key} '{mine}'; nothing was stored"
                        )
        now = now_ms()
        candidates = [check(e, now) for e in raw_events]
        newest = max(
            (
                e.get("created_at")
                for e in raw_events
                if isinstance(e, dict) and isinstance(e.get("created_at"), int) and 0 <= e["created_at"] < 2**62
            ),
            default=None,
        )
        results = self.server.storage.ingest(auth, candidates, skew_ms=None if newest is None else newest - now)
        req.context.events = len(raw_events)
        _respond(req, resp, PushResponse(results=results, server_time_ms=now_ms()), _accept(req, media))
        self.server.push_latency.observe(time.perf_counter() - t0)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        t0 = time.perf_counter()
        auth = self.auth(req)
        try:
            after = int(req.get_param("after") or 0)
            limit = int(req.get_param("limit") or DEFAULT_PULL)
            include_own = (req.get_param("include_own") or "0") in ("1", "true")
        except ValueError:
            raise ApiError(400, "BAD_QUERY", "after and limit must be whole numbers") from None
        if not 0 <= after < 2**63 or not 1 <= limit <= MAX_PULL:
            raise ApiError(400, "BAD_QUERY", f"after must be a cursor from 0 up and limit between 1 and {MAX_PULL}")
        events, cursor, more = self.server.storage.pull(auth, after, limit, include_own)
        if after == 0 or not events:  # last seen, without a write for every page of a long pull
            self.server.storage.touch(auth)
        media = _accept(req)
        for e in events:  # stored payloads are canonical JSON text: embedded as is in JSON, decoded for msgpack
            e["payload"] = msgspec.json.decode(e["payload"]) if media == MSGPACK else msgspec.Raw(e["payload"].encode())
        req.context.events = len(events)
        body = {"events": events, "cursor": cursor, "more": more, "server_time_ms": now_ms()}
        _respond(req, resp, body, media)
        self.server.pull_latency.observe(time.perf_counter() - t0)


class DevicesMeResource(Authenticated):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        auth = self.auth(req)
        last_seq, last_hash = self.server.storage.device_me(auth)
        _respond(
            req,
            resp,
            DeviceMe(
                store_id=auth.store_id,
                device_id=auth.device_id,
                last_seq=last_seq,
                last_hash=last_hash,
                server_time_ms=now_ms(),
            ),
            _accept(req),
        )


class OpenApiResource:
    def __init__(self) -> None:
        self.doc = msgspec.json.encode(openapi.build())

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = JSON
        resp.data = self.doc


class MetricsResource:
    def __init__(self, server: Server) -> None:
        self.server = server

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        s = self.server.storage
        lines = [
            "# HELP caja_events_total Events received, by store, type and result.",
            "# TYPE caja_events_total counter",
        ]
        for store, type_, status, n in s.stats():
            lines.append(f'caja_events_total{{store="{_esc(store)}",type="{_esc(type_)}",status="{status}"}} {n}')
        lines.append("# HELP caja_device_last_seen_seconds When a device last talked to the server (unix time).")
        lines.append("# TYPE caja_device_last_seen_seconds gauge")
        devices = s.devices()
        for d in devices:
            if d["last_seen"]:
                lines.append(
                    f'caja_device_last_seen_seconds{{store="{_esc(d["store_id"])}",'
                    f'device="{_esc(d["device_id"])}"}} {d["last_seen"] / 1000:.3f}'
                )
        lines.append("# HELP caja_device_clock_skew_seconds The device's clock minus the server's, at its last push.")
        lines.append("# TYPE caja_device_clock_skew_seconds gauge")
        for d in devices:
            if d["clock_skew_ms"] is not None:
                lines.append(
                    f'caja_device_clock_skew_seconds{{store="{_esc(d["store_id"])}",'
                    f'device="{_esc(d["device_id"])}"}} {d["clock_skew_ms"] / 1000:.3f}'
                )
        lines += ["# HELP caja_push_seconds Push latency in this server process."]
        lines += self.server.push_latency.render("caja_push_seconds")
        lines += ["# HELP caja_pull_seconds Pull latency in this server process."]
        lines += self.server.pull_latency.render("caja_pull_seconds")
        resp.content_type = "text/plain; version=0.0.4"
        resp.text = "\n".join(lines) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class AccessLog:
    def __init__(self, server: Server) -> None:
        self.server = server

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.t0 = time.perf_counter()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, ok: bool) -> None:
        auth = getattr(req.context, "auth", None)
        log_event(
            self.server.log,
            kind="access",
            method=req.method,
            path=req.path,
            status=resp.status_code,
            ms=round((time.perf_counter() - getattr(req.context, "t0", time.perf_counter())) * 1000, 2),
            store=auth.store_id if auth else None,
            device=auth.device_id if auth else None,
            events=getattr(req.context, "events", None),
            remote=req.remote_addr,
        )


def create_app(server: Server) -> falcon.App:
    app = falcon.App(middleware=[AccessLog(server)], cors_enable=False)
    app.req_options.auto_parse_form_urlencoded = False
    app.add_route("/v1/health", HealthResource())
    app.add_route("/v1/events", EventsResource(server))
    app.add_route("/v1/devices/me", DevicesMeResource(server))
    app.add_route("/v1/openapi.json", OpenApiResource())
    app.add_route("/metrics", MetricsResource(server))

    def api_error(req: falcon.Request, resp: falcon.Response, ex: ApiError, params: dict) -> None:
        for k, v in ex.headers.items():
            resp.set_header(k, v)
        _respond(
            req,
            resp,
            ErrorBody(error=ex.code, message=ex.message, server_time_ms=now_ms()),
            _accept(req, JSON),
            status=ex.status,
        )

    def http_error(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError, params: dict) -> None:
        code = int(str(ex.status).split()[0]) if not isinstance(ex.status, int) else ex.status
        for k, v in (ex.headers or {}).items():
            resp.set_header(k, v)
        _respond(
            req,
            resp,
            ErrorBody(
                error=str(ex.title or code), message=str(ex.description or ex.title or ""), server_time_ms=now_ms()
            ),
            JSON,
            status=code,
        )

    def storage_error(req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict) -> None:
        log_event(server.log, logging.ERROR, kind="error", path=req.path, error=f"{ex.__class__.__name__}: {ex}")
        resp.set_header("Retry-After", "2")
        _respond(
            req,
            resp,
            ErrorBody(error="UNAVAILABLE", message="storage is unavailable; retry shortly", server_time_ms=now_ms()),
            JSON,
            status=503,
        )

    def unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict) -> None:
        if isinstance(ex, falcon.HTTPError):
            return http_error(req, resp, ex, params)
        log_event(
            server.log,
            logging.ERROR,
            kind="error",
            path=req.path,
            error=f"{ex.__class__.__name__}: {ex}",
            traceback=traceback.format_exc(),
        )
        _respond(
            req,
            resp,
            ErrorBody(error="INTERNAL", message="the server failed; the error was logged", server_time_ms=now_ms()),
            JSON,
            status=500,
        )

    app.add_error_handler(Exception, unexpected)
    app.add_error_handler(falcon.HTTPError, http_error)
    app.add_error_handler((OperationalError, InterfaceError, DatabaseError), storage_error)
    app.add_error_handler(ApiError, api_error)
    return app
