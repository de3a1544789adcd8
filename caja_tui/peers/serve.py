"""This till's side of the peer protocol: a small WSGI app on the standard library's threaded server, run by
the till's sync process on `[peers] listen` (never by the till's screens: a sale never waits on a peer).

    GET  /v1/peer/heads                                   {"store_id", "device_id", "heads": {D: {"seq", "hash"}}}
    GET  /v1/peer/events?device=D&after_seq=N&limit=L     {"events": [...], "more": bool}, seq order
    POST /v1/peer/poke                                    204: the caller wrote something; pull from it now
    POST /v1/peer/pair                                    pairing with a code shown on this till (pairing.py)

Every request but pairing is signed (auth.py); an answer holds at most 1000 events and about 8 MiB.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import msgspec

from ..domain.clock import system_ms
from ..store import peers as peer_store
from . import pairing
from .auth import HEADER, PeerAuthError, check_request

log = logging.getLogger("caja.peers")
MAX_EVENTS = 1000
MAX_BYTES = 8 * 1024 * 1024
MAX_BODY = 64 * 1024
_STATUS = {200: "200 OK", 400: "400 Bad Request", 403: "403 Forbidden"}


class PeerApp:
    """The WSGI app over a till's store (`store` is shared: Peewee keeps one connection a thread)."""

    def __init__(self, store: Any, *, on_poke: Callable[[str], None] = lambda device: None) -> None:
        self.store = store
        self.on_poke = on_poke
        self.port = 0  # where it is served (PeerServer sets it): a pairing answer names it

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        try:
            status, body = self._answer(environ)
        except PeerAuthError as exc:
            status, body = f"{exc.status} {'Unauthorized' if exc.status == 401 else 'Forbidden'}", _error(str(exc))
        except Exception:  # noqa: BLE001 - a peer never gets a traceback; the log has it
            log.exception("peer request failed")
            status, body = "503 Service Unavailable", _error("this till cannot answer now; try again")
        finally:
            self.store.db.close()  # this request's thread ends with the request: so does its connection
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def _answer(self, environ: dict[str, Any]) -> tuple[str, bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        size = int(environ.get("CONTENT_LENGTH") or 0)
        if size > MAX_BODY:
            return "413 Payload Too Large", _error("a peer request body is at most 64 KiB")
        body = environ["wsgi.input"].read(size) if size else b""
        if (method, path) == ("POST", "/v1/peer/pair"):  # not signed: the caller's key is what it brings
            code, answer = pairing.answer(self.store, body, environ.get("REMOTE_ADDR", ""), self.port)
            return _STATUS[code], answer
        caller = check_request(
            environ.get("HTTP_" + HEADER.upper().replace("-", "_")),
            method,
            path,
            query,
            body,
            keys=peer_store.peer_keys(self.store),
            own_device=self.store.device_id,
            now_ms=system_ms(),
        )
        if (method, path) == ("GET", "/v1/peer/heads"):
            with self.store.read():
                heads = peer_store.heads(self.store)
            answer = {
                "store_id": self.store.store_id,
                "device_id": self.store.device_id,
                "heads": {d: {"seq": s, "hash": h} for d, (s, h) in heads.items()},
            }
            return "200 OK", msgspec.json.encode(answer)
        if (method, path) == ("GET", "/v1/peer/events"):
            return self._events(parse_qs(query))
        if (method, path) == ("POST", "/v1/peer/poke"):
            self.on_poke(caller)
            return "204 No Content", b""
        return "404 Not Found", _error(f"no {method} {path} here")

    def _events(self, q: dict[str, list[str]]) -> tuple[str, bytes]:
        try:
            device = q["device"][-1]
            after = int(q.get("after_seq", ["0"])[-1])
            limit = max(1, min(MAX_EVENTS, int(q.get("limit", [str(MAX_EVENTS)])[-1])))
        except (KeyError, ValueError):
            return "400 Bad Request", _error("events needs device=D, after_seq=N (a number) and limit=L")
        with self.store.read():
            events, more = peer_store.events_after(self.store, device, after, limit)
        out, used = [], 0
        for e in events:  # an answer stays under MAX_BYTES: the caller asks again for the rest
            encoded = msgspec.json.encode(e)
            if out and used + len(encoded) > MAX_BYTES:
                more = True
                break
            out.append(msgspec.Raw(encoded))
            used += len(encoded)
        return "200 OK", msgspec.json.encode({"events": out, "more": more})


def _error(message: str) -> bytes:
    return msgspec.json.encode({"error": message})


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the standard library's name
        log.debug("peer %s " + format, self.client_address[0], *args)


class PeerServer:
    """The app on `host:port` in a thread of its own; `port` 0 takes a free one (tests)."""

    def __init__(self, app: PeerApp, host: str, port: int) -> None:
        self.httpd = make_server(host, port, app, server_class=_Server, handler_class=_QuietHandler)
        self.port = app.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True)

    def start(self) -> PeerServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
