"""The Falcon WSGI app: the endpoints of PROTOCOL.md (resources.py), the owner's pages under /hq/ (hq/), the
access log and the error answers.

Nothing a client sends produces a 500: bad input is a 4xx with a clear message, a storage problem a 503; under
/hq/ the same answers are pages. After a push, the worker's projector thread folds the new events into the
owner's read models (hq/background.py), off the push's own path.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import falcon
from peewee import DatabaseError, InterfaceError, OperationalError

from ..host.logs import log_event
from ..protocol import JSON
from .hq.background import Projecting
from .hq.routes import HqError, error_page, mount
from .http import ApiError, accept, respond_error
from .metrics import Histogram, MetricsResource
from .ratelimit import RateLimiter
from .resources import (
    DeviceKeyResource,
    DevicesMeResource,
    DevicesResource,
    EventsResource,
    HealthResource,
    OpenApiResource,
)
from .storage import ServerStorage

__all__ = ["ApiError", "Server", "create_app"]


class Server:
    """Per-process state: storage (opened lazily, after gunicorn forks), rate limits, metrics."""

    def __init__(
        self,
        storage_factory: Callable[[], ServerStorage],
        *,
        rate: float = 50.0,
        burst: int = 100,
        log: logging.Logger | None = None,
        hq_key: str | None = None,
    ) -> None:
        self._factory = storage_factory
        self.hq_key = hq_key  # the HQ device's key file (hq/device.py); None: owners' edits are off
        self._storage: ServerStorage | None = None
        self._lock = threading.Lock()
        self.limiter = RateLimiter(rate, burst)
        self.log = log or logging.getLogger("caja.server")  # JSON lines where `caja serve` sends them (host/logs)
        self.push_latency = Histogram()
        self.pull_latency = Histogram()
        self.projecting = Projecting(lambda: self.storage)

    @property
    def storage(self) -> ServerStorage:
        if self._storage is None:
            with self._lock:
                if self._storage is None:
                    self._storage = self._factory()
        return self._storage


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
        if req.method == "POST" and req.path == "/v1/events" and resp.status_code == 200:
            self.server.projecting.wake()  # fold the new events for the owner's pages, in the background


class ErrorAnswers:
    """The error handlers: every failure answers with an error body of PROTOCOL.md; a server fault is logged."""

    def __init__(self, server: Server, hq=None) -> None:
        self.server = server
        self.hq = hq

    def hq_page(self, req: falcon.Request, resp: falcon.Response, status: int, message: str) -> bool:
        """Under /hq/ an error is a page for a person; True when it was rendered so."""
        if self.hq is None or not (req.path == "/hq" or req.path.startswith("/hq/")):
            return False
        error_page(self.hq, req, resp, status, message)
        return True

    def hq_error(self, req: falcon.Request, resp: falcon.Response, ex: HqError, params: dict) -> None:
        self.hq_page(req, resp, ex.status, ex.message)

    def api_error(self, req: falcon.Request, resp: falcon.Response, ex: ApiError, params: dict) -> None:
        for k, v in ex.headers.items():
            resp.set_header(k, v)
        respond_error(req, resp, ex.status, ex.code, ex.message, accept(req, JSON))

    def http_error(self, req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError, params: dict) -> None:
        code = int(str(ex.status).split()[0]) if not isinstance(ex.status, int) else ex.status
        for k, v in (ex.headers or {}).items():
            resp.set_header(k, v)
        if code < 400 or self.hq_page(req, resp, code, str(ex.description or ex.title or code)):
            resp.status = ex.status  # a redirect (303 to the login page) keeps its Location
            return
        respond_error(req, resp, code, str(ex.title or code), str(ex.description or ex.title or ""))

    def storage_error(self, req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict) -> None:
        log_event(self.server.log, logging.ERROR, kind="error", path=req.path, error=f"{ex.__class__.__name__}: {ex}")
        resp.set_header("Retry-After", "2")
        if self.hq_page(req, resp, 503, "the server's storage is unavailable; reload in a moment"):
            return
        respond_error(req, resp, 503, "UNAVAILABLE", "storage is unavailable; retry shortly")

    def unexpected(self, req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict) -> None:
        if isinstance(ex, falcon.HTTPError):
            return self.http_error(req, resp, ex, params)
        log_event(
            self.server.log,
            logging.ERROR,
            kind="error",
            path=req.path,
            error=f"{ex.__class__.__name__}: {ex}",
            traceback=traceback.format_exc(),
        )
        respond_error(req, resp, 500, "INTERNAL", "the server failed; the error was logged")


def create_app(server: Server) -> falcon.App:
    app = falcon.App(middleware=[AccessLog(server)], cors_enable=False)
    app.req_options.auto_parse_form_urlencoded = False
    app.add_route("/v1/health", HealthResource())
    app.add_route("/v1/events", EventsResource(server))
    app.add_route("/v1/devices/me", DevicesMeResource(server))
    app.add_route("/v1/devices/me/key", DeviceKeyResource(server))
    app.add_route("/v1/devices", DevicesResource(server))
    app.add_route("/v1/openapi.json", OpenApiResource())
    app.add_route("/metrics", MetricsResource(server))
    errors = ErrorAnswers(server, mount(app, server))
    app.add_error_handler(Exception, errors.unexpected)
    app.add_error_handler(falcon.HTTPError, errors.http_error)
    app.add_error_handler((OperationalError, InterfaceError, DatabaseError), errors.storage_error)
    app.add_error_handler(ApiError, errors.api_error)
    app.add_error_handler(HqError, errors.hq_error)
    return app
