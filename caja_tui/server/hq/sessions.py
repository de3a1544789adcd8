"""Login sessions of the back office: a random cookie (only its SHA-256 is stored), a CSRF token per session,
an idle limit and an absolute one, and a login throttle by owner name and by client address.

Everything is in the database, so every gunicorn worker (and every host in front of one PostgreSQL) agrees.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from peewee import IntegrityError

from .models import HqLoginFailure, HqSession

IDLE_MS = 30 * 60 * 1000  # a session unused for 30 minutes ends
MAX_MS = 12 * 3600 * 1000  # and any session ends 12 hours after the login
TOUCH_MS = 60 * 1000  # last_seen is written at most once a minute per session
# failed logins allowed within WINDOW_MS before waits start: per owner name, and per client address (an office
# behind one address has several people who mistype)
FREE_FAILURES = {"name": 5, "ip": 50}
WINDOW_MS = 15 * 60 * 1000
MAX_WAIT_MS = 15 * 60 * 1000


@dataclass(frozen=True)
class Session:
    owner: str
    csrf: str
    token_hash: str


def _now() -> int:
    return time.time_ns() // 1_000_000


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(owner: str) -> tuple[str, Session]:
    """A new session: the cookie's value (shown to the browser only) and the session."""
    token, now = secrets.token_urlsafe(32), _now()
    s = Session(owner, secrets.token_urlsafe(32), _digest(token))
    HqSession.create(
        token_hash=s.token_hash, owner=owner, csrf=s.csrf, created_at=now, expires_at=now + MAX_MS, last_seen=now
    )
    HqSession.delete().where((HqSession.expires_at < now) | (HqSession.last_seen < now - IDLE_MS)).execute()
    return token, s


def find(token: str | None) -> Session | None:
    """The live session of a cookie, or None (unknown, ended by logout, idle too long, or too old)."""
    if not token or len(token) > 128:
        return None
    row = HqSession.get_or_none(HqSession.token_hash == _digest(token))
    now = _now()
    if row is None:
        return None
    if now >= row.expires_at or now - row.last_seen >= IDLE_MS:
        row.delete_instance()
        return None
    if now - row.last_seen >= TOUCH_MS:
        HqSession.update(last_seen=now).where(HqSession.token_hash == row.token_hash).execute()
    return Session(row.owner, row.csrf, row.token_hash)


def end(session: Session) -> None:
    HqSession.delete().where(HqSession.token_hash == session.token_hash).execute()


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


# --- throttling of logins ---------------------------------------------------------------------------


def wait_ms(keys: list[str]) -> int:
    """How long these keys (name and address) must still wait before a login is tried; 0: go ahead."""
    now = _now()
    rows = HqLoginFailure.select().where(HqLoginFailure.key.in_(keys))
    return max(0, max((r.blocked_until - now for r in rows), default=0))


def failed(keys: list[str]) -> None:
    """Count a failed login against each key; past FREE_FAILURES in the window, each failure doubles the wait."""
    now = _now()
    HqLoginFailure.delete().where(
        (HqLoginFailure.first_at < now - WINDOW_MS) & (HqLoginFailure.blocked_until < now)
    ).execute()  # old failures of everybody: the table stays small
    for key in keys:
        row = HqLoginFailure.get_or_none(HqLoginFailure.key == key)
        if row is None:
            try:
                HqLoginFailure.create(key=key, failures=1, first_at=now, blocked_until=0)
            except IntegrityError:
                pass  # another worker counted the same key's first failure at the same moment
            continue
        if now - row.first_at > WINDOW_MS and row.blocked_until <= now:
            row.failures, row.first_at = 0, now
        row.failures += 1
        over = row.failures - FREE_FAILURES.get(key.split(":", 1)[0], 5)
        if over > 0:
            row.blocked_until = now + min(MAX_WAIT_MS, 1000 * 2 ** min(over + 1, 20))
        row.save()


def succeeded(keys: list[str]) -> None:
    HqLoginFailure.delete().where(HqLoginFailure.key.in_(keys)).execute()
