"""The endpoints of PROTOCOL.md, one resource each: thin, storage does the work."""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

import falcon
import msgspec

from .. import __version__
from ..protocol import (
    DEFAULT_PULL,
    JSON,
    MAX_PULL,
    MSGPACK,
    NOT_DECODED,
    DeviceMe,
    DevicesResponse,
    Health,
    KeyRequest,
    KeyResponse,
    PushResponse,
    WireEvent,
)
from ..protocol.check import check_events
from . import devicekeys, openapi
from .http import (
    GZIP_MIN,
    ApiError,
    accept,
    kept_alive,
    media_type,
    read_body,
    respond,
    respond_bytes,
    wants_gzip,
)
from .pullahead import Ahead, Page
from .ratelimit import retry_after_header
from .storage import DeviceAuth, now_ms
from .validate import Unreadable, read_event, split_events, unreadable

if TYPE_CHECKING:
    from .app import Server


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
        respond(req, resp, Health(status="ok", version=__version__, server_time_ms=now_ms()), accept(req))


class EventsResource(Authenticated):
    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.ahead = Ahead()

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        t0 = time.perf_counter()
        auth = self.auth(req)
        media = media_type(req)
        body = read_body(req)
        try:
            raw_events = [read_event(raw, media) for raw in split_events(body, media)]
        except ValueError as exc:
            raise ApiError(400, "BAD_BODY", f"cannot read the push body: {exc}") from None
        keys = devicekeys.active_keys(auth.store_id)
        for e in raw_events:
            _may_push(auth, e, keys)
        now = now_ms()
        checked = iter(check_events([e for e in raw_events if not isinstance(e, Unreadable)], now_ms=now, keys=keys))
        candidates = [unreadable(e.reason) if isinstance(e, Unreadable) else next(checked) for e in raw_events]
        newest = max((t for t in map(_created_at, raw_events) if t is not None), default=None)
        results = self.server.storage.ingest(auth, candidates, skew_ms=None if newest is None else newest - now)
        req.context.events = len(raw_events)
        respond(req, resp, PushResponse(results=results, server_time_ms=now_ms()), accept(req, media))
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
        media = accept(req)
        zipped = wants_gzip(req)
        if media == MSGPACK:  # the wire bytes stored at ingest
            page = self._pull_page(auth, after, limit, include_own, zipped, kept_alive(req))
            n = page.n
        else:
            events, cursor, more = self.server.storage.pull(auth, after, limit, include_own)
            n = len(events)
        if after == 0 or not n:  # last seen, without a write for every page of a long pull
            self.server.storage.touch(auth)
        req.context.events = n
        if media == MSGPACK:
            body, gzipped = page.answer(now_ms(), zipped)
            respond_bytes(resp, body, MSGPACK, gzipped=gzipped)
        else:
            for e in events:  # stored payloads are canonical JSON text: embedded in JSON as they are
                e["payload"] = msgspec.Raw(e["payload"].encode())
            respond(req, resp, {"events": events, "cursor": cursor, "more": more, "server_time_ms": now_ms()}, media)
        self.server.pull_latency.observe(time.perf_counter() - t0)

    def _pull_page(
        self, auth: DeviceAuth, after: int, limit: int, include_own: bool, zipped: bool, kept_alive: bool
    ) -> Page:
        """The page made ahead when the request before asked for the one before (pullahead.py), else made now;
        with `more`, and the connection `kept_alive` (a proxy's next connection, as nginx's default, may reach
        another worker), the next page is made ready while the till reads this one."""
        page = self.ahead.take((auth.store_id, auth.device_id, include_own, after, limit, zipped))
        if page is not None and not page.more and self.server.storage.top(auth.store_id) != page.cursor:
            page = None  # events came after the last page made ahead: it would not be the answer now
        if page is None:
            page = self._page(auth, after, limit, include_own, zipped)
        if page.more and kept_alive:
            self.ahead.prepare(
                (auth.store_id, auth.device_id, include_own, page.cursor, limit, zipped),
                partial(self._page, auth, page.cursor, limit, include_own, zipped),
            )
        return page

    def _page(self, auth: DeviceAuth, after: int, limit: int, include_own: bool, zipped: bool) -> Page:
        events, cursor, more = self.server.storage.pull(auth, after, limit, include_own, encoded=True)
        return Page(events, cursor, more, zipped=zipped, min_zip=GZIP_MIN)


def _created_at(e: WireEvent | Any) -> int | None:
    """The event's `created_at`, when it is a whole number the device's clock skew may be measured from."""
    t = e.created_at if isinstance(e, WireEvent) else e.get("created_at") if isinstance(e, dict) else None
    return t if isinstance(t, int) and 0 <= t < 2**62 else None


def _may_push(auth: DeviceAuth, e: WireEvent | Any, keys: dict[str, tuple[str, int]]) -> None:
    """403 for an event of another store, or of another device unless it is a relay: signed (at or after the
    first seq of that device's key; the check then verifies the signature, BAD_SIG for a wrong one)."""
    if isinstance(e, WireEvent):
        store, origin, seq, sig = e.store_id, e.device_id, e.seq, e.sig
    elif isinstance(e, dict):
        store, origin = e.get("store_id", auth.store_id), e.get("device_id", auth.device_id)
        seq, sig = e.get("seq"), e.get("sig")
    else:
        return
    if store != auth.store_id:
        raise ApiError(
            403, "FORBIDDEN", f"this token may only push events of store_id '{auth.store_id}'; nothing was stored"
        )
    if origin != auth.device_id:
        key = keys.get(origin) if isinstance(origin, str) else None
        if key is None or not isinstance(sig, str) or not isinstance(seq, int) or seq < key[1]:
            raise ApiError(
                403,
                "FORBIDDEN",
                f"this token may push events of device_id '{auth.device_id}', and of another device of its store "
                "only when that device's key signs them (a relay); nothing was stored",
            )


class DeviceKeyResource(Authenticated):
    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        auth = self.auth(req)
        media = media_type(req)
        body = read_body(req)
        try:
            want = (msgspec.msgpack if media == MSGPACK else msgspec.json).decode(body, type=KeyRequest)
        except NOT_DECODED as exc:
            raise ApiError(
                400, "BAD_BODY", f'the body must be {{"public_key": "<64 hex>", "from_seq": N}}: {str(exc)[:200]}'
            ) from None
        key, from_seq = devicekeys.register(auth.store_id, auth.device_id, want.public_key, want.from_seq)
        if key != want.public_key:
            raise ApiError(
                409,
                "KEY_REGISTERED",
                "this device already has another key; an operator re-enrols it with "
                f"`caja serve enroll --store {auth.store_id} --device {auth.device_id} --rekey`",
            )
        respond(req, resp, KeyResponse(public_key=key, from_seq=from_seq, server_time_ms=now_ms()), accept(req, media))


class DevicesResource(Authenticated):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        auth = self.auth(req)
        devices = devicekeys.store_devices(auth.store_id)
        respond(req, resp, DevicesResponse(devices=devices, server_time_ms=now_ms()), accept(req))


class DevicesMeResource(Authenticated):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        auth = self.auth(req)
        last_seq, last_hash = self.server.storage.device_me(auth)
        respond(
            req,
            resp,
            DeviceMe(
                store_id=auth.store_id,
                device_id=auth.device_id,
                last_seq=last_seq,
                last_hash=last_hash,
                server_time_ms=now_ms(),
            ),
            accept(req),
        )


class OpenApiResource:
    def __init__(self) -> None:
        self.doc = msgspec.json.encode(openapi.build())

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = JSON
        resp.data = self.doc
