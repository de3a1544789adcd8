"""The owner's pages under `/hq/` (Falcon resources): login and logout, the overview, a store, a till (revoke
and enrol), and the CSV of every table a page shows.

Every request past the login needs a live session (sessions.py); every form carries the session's CSRF token
(the login form a double-submit cookie); a store or till the owner does not see answers the same 404 as one
that does not exist. Anything a browser sends gets a page, never a 500: bad forms are 400, a throttled login
429, storage trouble 503 (app.py's handlers render errors under /hq/ as pages).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from typing import Any
from urllib.parse import parse_qs

import falcon
from jinja2 import Environment, PackageLoader, select_autoescape

from ...config import HQ_DEVICE
from ..metrics import is_loopback
from . import owners, pages, sessions
from .owners import Owner
from .queries import Reader, now_ms

COOKIE, PRE = "caja_hq", "caja_hq_login"
IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TABLE = re.compile(r"^[a-z_]{1,32}$")
MAX_FORM = 16 * 1024
CATCH_UP_S = 0.15  # a page folds at most this long of its stores' newest events before it renders
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)


class HqError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("caja_tui.server.hq", "templates"), autoescape=select_autoescape(default=True)
    )
    return env


class Hq:
    """Shared by the resources: the server (its storage), the templates, sessions."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.env = _env()

    @property
    def storage(self) -> Any:
        return self.server.storage

    def bind(self) -> None:
        """Open the storage (lazily, in this worker): it binds the tables' database."""
        _ = self.server.storage

    def render(self, req: falcon.Request, resp: falcon.Response, name: str, status: int = 200, **ctx: Any) -> None:
        _headers(resp)
        resp.status = status
        resp.content_type = "text/html; charset=utf-8"
        resp.text = self.env.get_template(name).render(**ctx)

    def login_state(self, req: falcon.Request) -> tuple[sessions.Session, Owner] | None:
        self.bind()
        s = sessions.find(req.get_cookie_values(COOKIE)[0] if req.get_cookie_values(COOKIE) else None)
        o = owners.get(s.owner) if s else None
        return (s, o) if s and o else None

    def need(self, req: falcon.Request) -> tuple[sessions.Session, Owner]:
        state = self.login_state(req)
        if state is None:
            raise falcon.HTTPSeeOther("/hq/login")
        return state

    def posted(self, req: falcon.Request, max_fields: int = 20) -> tuple[sessions.Session, Owner, dict[str, str]]:
        """A form posted by a logged-in owner, its CSRF token checked: (session, owner, fields)."""
        session, owner = self.need(req)
        data = form(req, max_fields)
        check_csrf(session, data)
        return session, owner, data

    def store_of(self, owner: Owner, reader: Reader, store_id: str) -> str:
        if not IDENT.match(store_id) or not owner.sees(store_id) or store_id not in reader.stores():
            raise HqError(404, "no such page")
        return store_id

    def visible(self, owner: Owner) -> tuple[Reader, list[str], int]:
        """A reader, the stores the owner sees, caught up as far as a page waits (how many events remain)."""
        reader = Reader(self.storage)
        stores = owner.visible(reader.stores())
        return reader, stores, self.catch_up(reader, stores)

    def catch_up(self, reader: Reader, stores: list[str]) -> int:
        """Fold the stores' newest events within CATCH_UP_S; how many events remain unfolded."""
        at = reader.pr.positions()
        late = [s for s in stores if s in at and at[s][0] < at[s][1]]
        budget = CATCH_UP_S / max(1, len(late))
        return sum(0 if reader.pr.catch_up(s, budget_s=budget) else reader.pr.behind(s) for s in late)


def form(req: falcon.Request, max_fields: int = 20) -> dict[str, str]:
    n = req.content_length or 0
    if n > MAX_FORM:
        raise HqError(413, "the form is too large")
    body = req.bounded_stream.read(MAX_FORM + 1)
    if len(body) > MAX_FORM:
        raise HqError(413, "the form is too large")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=max_fields, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise HqError(400, "the form could not be read") from None
    return {k: v[-1] for k, v in fields.items()}


def check_csrf(session: sessions.Session, data: dict[str, str]) -> None:
    if not sessions.csrf_ok(session.csrf, data.get("csrf")):
        raise HqError(403, "this form is out of date (CSRF check failed): go back, reload the page and try again")


def client_address(req: falcon.Request) -> str:
    """The browser's address: behind a proxy on this machine (the way README's TLS examples run), the address that
    proxy adds last to X-Forwarded-For, so that one person's failed logins do not hold up everybody's; from
    anywhere else the connection's own address (a header a client writes itself is no address)."""
    addr = req.remote_addr or ""
    forwarded = req.get_header("X-Forwarded-For") if is_loopback(addr) else None
    return (forwarded.split(",")[-1].strip()[:64] or addr) if forwarded else addr


def _secure(req: falcon.Request) -> bool:
    return req.scheme == "https" or (req.get_header("X-Forwarded-Proto") or "").lower() == "https"


def _headers(resp: falcon.Response) -> None:
    resp.set_header("Cache-Control", "no-store")
    resp.set_header("Content-Security-Policy", CSP)
    resp.set_header("X-Frame-Options", "DENY")
    resp.set_header("X-Content-Type-Options", "nosniff")
    resp.set_header("Referrer-Policy", "same-origin")


class Root:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise falcon.HTTPMovedPermanently("/hq/")


class Login:
    def __init__(self, hq: Hq) -> None:
        self.hq = hq

    def on_get(self, req: falcon.Request, resp: falcon.Response, error: str = "", status: int = 200) -> None:
        if self.hq.login_state(req) is not None and not error:
            raise falcon.HTTPSeeOther("/hq/")
        token = secrets.token_urlsafe(24)
        resp.set_cookie(PRE, token, path="/hq/", secure=_secure(req), http_only=True, same_site="Strict", max_age=3600)
        self.hq.render(req, resp, "login.html", status, title="Log in", csrf=token, error=error)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        data = form(req)
        pre = req.get_cookie_values(PRE)
        if not pre or not sessions.csrf_ok(pre[0], data.get("csrf")):
            return self.on_get(req, resp, "The login form was out of date: please try again.", 403)
        name, password = data.get("name", "")[:64], data.get("password", "")[:1024]
        keys = [f"name:{name.lower()}", f"ip:{client_address(req)}"]
        self.hq.bind()
        wait = sessions.wait_ms(keys)
        if wait > 0:
            resp.set_header("Retry-After", str(wait // 1000 + 1))
            return self.on_get(req, resp, f"Too many failed logins: wait {wait // 1000 + 1} s and try again.", 429)
        owner = owners.authenticate(name, password)
        if owner is None:
            sessions.failed(keys)
            return self.on_get(req, resp, "Wrong name or password.", 401)
        sessions.succeeded(keys[:1])
        token, _ = sessions.start(owner.name)
        resp.set_cookie(COOKIE, token, path="/hq/", secure=_secure(req), http_only=True, same_site="Strict")
        resp.unset_cookie(PRE, path="/hq/")
        raise falcon.HTTPSeeOther("/hq/")


class Logout:
    def __init__(self, hq: Hq) -> None:
        self.hq = hq

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        state = self.hq.login_state(req)
        if state is not None:
            check_csrf(state[0], form(req))
            sessions.end(state[0])
        resp.unset_cookie(COOKIE, path="/hq/")
        raise falcon.HTTPSeeOther("/hq/login")


class Overview:
    def __init__(self, hq: Hq) -> None:
        self.hq = hq

    def content(self, req: falcon.Request, owner: Owner) -> dict[str, Any]:
        reader, stores, behind = self.hq.visible(owner)
        return {**pages.overview(reader, stores), "behind": behind, "csv_base": "/hq/csv"}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        session, owner = self.hq.need(req)
        self.hq.render(req, resp, "page.html", owner=owner, csrf=session.csrf, **self.content(req, owner))


class Store:
    def __init__(self, hq: Hq) -> None:
        self.hq = hq

    def content(self, req: falcon.Request, owner: Owner, store_id: str) -> dict[str, Any]:
        reader = Reader(self.hq.storage)
        store_id = self.hq.store_of(owner, reader, store_id)
        behind = self.hq.catch_up(reader, [store_id])
        return {
            **pages.store(reader, store_id),
            "behind": behind,
            "store": store_id,
            "csv_base": f"/hq/stores/{store_id}/csv",
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response, store_id: str) -> None:
        session, owner = self.hq.need(req)
        self.hq.render(req, resp, "page.html", owner=owner, csrf=session.csrf, **self.content(req, owner, store_id))


class Till:
    def __init__(self, hq: Hq) -> None:
        self.hq = hq

    def device(self, owner: Owner, store_id: str, device_id: str) -> tuple[Reader, dict]:
        reader = Reader(self.hq.storage)
        store_id = self.hq.store_of(owner, reader, store_id)
        found = [d for d in reader.tills([store_id], now_ms())[store_id] if d["device_id"] == device_id]
        if not found:
            raise HqError(404, "no such page")
        return reader, found[0]

    def content(self, req: falcon.Request, owner: Owner, store_id: str, device_id: str) -> dict[str, Any]:
        reader, device = self.device(owner, store_id, device_id)
        return {
            **pages.till(reader, store_id, device),
            "store": store_id,
            "csv_base": f"/hq/stores/{store_id}/tills/{device_id}/csv",
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response, store_id: str, device_id: str) -> None:
        session, owner = self.hq.need(req)
        ctx = self.content(req, owner, store_id, device_id)
        self.hq.render(req, resp, "page.html", owner=owner, csrf=session.csrf, **ctx)

    def on_post_revoke(self, req: falcon.Request, resp: falcon.Response, store_id: str, device_id: str) -> None:
        _, owner, _ = self.hq.posted(req)
        self.device(owner, store_id, device_id)
        self.hq.storage.revoke(device_id, store_id)
        raise falcon.HTTPSeeOther(f"/hq/stores/{store_id}/tills/{device_id}")


class Enrol:
    """A new till's token (or a till's new token, and with `rekey` its key forgotten): shown once, on this page."""

    def __init__(self, hq: Hq) -> None:
        self.hq = hq

    def on_post(self, req: falcon.Request, resp: falcon.Response, store_id: str) -> None:
        session, owner, data = self.hq.posted(req)
        store_id = self.hq.store_of(owner, Reader(self.hq.storage), store_id)
        device_id = data.get("device", "").strip()
        if not IDENT.match(device_id):
            raise HqError(400, "a till's id is 1-64 letters, digits, '.', '_' or '-'")
        if device_id == HQ_DEVICE:
            raise HqError(400, "HQ is the server's own device in each store (owners' edits): give the till another id")
        token = self.hq.storage.enroll(store_id, device_id, rekey=data.get("rekey") == "1")
        self.hq.render(
            req,
            resp,
            "token.html",
            owner=owner,
            csrf=session.csrf,
            title=f"Till {device_id} enrolled",
            store=store_id,
            device_id=device_id,
            token=token,
        )


class Csv:
    """`…/csv/{table}`: the named table of the page above, as CSV (the rows the page shows)."""

    def __init__(self, hq: Hq, overview: Overview, store: Store, till: Till) -> None:
        self.hq, self.overview, self.store, self.till = hq, overview, store, till

    def on_get(self, req: falcon.Request, resp: falcon.Response, table: str) -> None:
        _, owner = self.hq.need(req)
        self.send(resp, self.overview.content(req, owner), table, "stores")

    def on_get_store(self, req: falcon.Request, resp: falcon.Response, store_id: str, table: str) -> None:
        _, owner = self.hq.need(req)
        self.send(resp, self.store.content(req, owner, store_id), table, store_id)

    def on_get_till(
        self, req: falcon.Request, resp: falcon.Response, store_id: str, device_id: str, table: str
    ) -> None:
        _, owner = self.hq.need(req)
        self.send(resp, self.till.content(req, owner, store_id, device_id), table, f"{store_id}-{device_id}")

    def send(self, resp: falcon.Response, content: dict[str, Any], table: str, prefix: str) -> None:
        send_csv(resp, content, table, prefix)


def send_csv(resp: falcon.Response, content: dict[str, Any], table: str, prefix: str) -> None:
    """The named table of a page's content as a CSV download (404 for a table the page does not show)."""
    found = [t for t in content["tables"] if t.name == table] if TABLE.match(table) else []
    if not found:
        raise HqError(404, "no such table")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(found[0].columns)
    for row in found[0].rows:
        w.writerow([_cell(c) for c in row])
    _headers(resp)
    resp.content_type = "text/csv; charset=utf-8"
    resp.set_header("Content-Disposition", f'attachment; filename="{prefix}-{table}.csv"')
    resp.text = out.getvalue()


def _cell(value: Any) -> Any:
    """A spreadsheet never runs a cell as a formula: text starting with = + - @ gets a leading quote (unless
    it is a number such as -12.50)."""
    if (
        isinstance(value, str)
        and value[:1] in ("=", "+", "-", "@", "\t", "\r")
        and not re.fullmatch(r"-[\d,]+(\.\d+)?", value)
    ):
        return "'" + value
    return value


class Static:
    def __init__(self, hq: Hq) -> None:
        self.css = hq.env.loader.get_source(hq.env, "hq.css")[0]  # type: ignore[union-attr]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "text/css; charset=utf-8"
        resp.set_header("Cache-Control", "max-age=3600")
        resp.text = self.css


class NotFound:
    def __init__(self, hq: Hq) -> None:
        self.hq = hq

    def __call__(self, req: falcon.Request, resp: falcon.Response, **kw: Any) -> None:
        raise HqError(404, "no such page")


def error_page(hq: Hq, req: falcon.Request, resp: falcon.Response, status: int, message: str) -> None:
    state = None
    try:
        state = hq.login_state(req) if status != 503 else None
    except Exception:  # noqa: BLE001 - the error page itself must never fail on the storage
        state = None
    hq.render(
        req,
        resp,
        "error.html",
        status,
        title=f"Error {status}",
        message=message,
        owner=state[1] if state else None,
        csrf=state[0].csrf if state else "",
    )


def mount(app: falcon.App, server: Any) -> Hq:
    hq = Hq(server)
    overview, store, till = Overview(hq), Store(hq), Till(hq)
    csv_ = Csv(hq, overview, store, till)
    app.add_route("/hq", Root())
    app.add_route("/hq/", overview)
    app.add_route("/hq/login", Login(hq))
    app.add_route("/hq/logout", Logout(hq))
    app.add_route("/hq/hq.css", Static(hq))
    app.add_route("/hq/csv/{table}", csv_)
    app.add_route("/hq/stores/{store_id}", store)
    app.add_route("/hq/stores/{store_id}/csv/{table}", csv_, suffix="store")
    app.add_route("/hq/stores/{store_id}/enrol", Enrol(hq))
    app.add_route("/hq/stores/{store_id}/tills/{device_id}", till)
    app.add_route("/hq/stores/{store_id}/tills/{device_id}/revoke", till, suffix="revoke")
    app.add_route("/hq/stores/{store_id}/tills/{device_id}/csv/{table}", csv_, suffix="till")
    from . import edits  # it builds on this module's Hq, form and errors

    edits.mount(app, hq)
    app.add_sink(NotFound(hq), r"^/hq(/.*)?$")
    return hq
