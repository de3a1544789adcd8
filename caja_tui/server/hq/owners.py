"""Owners of the back office: a name, a password hashed with scrypt (memory-hard, in the standard library),
and the stores they see (`*`: every store the server holds).

`caja serve owners add|edit|list|remove` (cli/serve.py) and the login page (routes.py) go through here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from .models import HqOwner, HqSession

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
STORE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # the ids `caja serve enroll` accepts
ALL = "*"
MIN_PASSWORD = 10
# scrypt's cost: 2**15 x 8 x 128 bytes = 32 MiB of memory per hash, about 0.1 s on a small server
N, R, P = 2**15, 8, 1


class OwnerError(ValueError):
    """A name, password or store list the command refuses; the message says why."""


@dataclass(frozen=True)
class Owner:
    name: str
    stores: tuple[str, ...]  # empty with every_store

    @property
    def every_store(self) -> bool:
        return self.stores == (ALL,)

    def sees(self, store_id: str) -> bool:
        return self.every_store or store_id in self.stores

    def visible(self, known: list[str]) -> list[str]:
        """Of the stores the server knows, those this owner sees, sorted."""
        return sorted(s for s in known if self.sees(s))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt${N}${R}${P}${salt.hex()}${key.hex()}"


def check_password(stored: str, password: str) -> bool:
    try:
        kind, n, r, p, salt, key = stored.split("$")
        got = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), maxmem=64 * 1024 * 1024, dklen=32
        )
    except (ValueError, MemoryError):
        return False
    return kind == "scrypt" and hmac.compare_digest(got.hex(), key)


# A fixed hash checked when the name is unknown, so that a wrong name costs as much time as a wrong password.
_DUMMY = hash_password(secrets.token_hex(16))


def parse_stores(text: str) -> tuple[str, ...]:
    """`all` (or `*`) or store ids separated by commas."""
    items = [s.strip() for s in text.split(",") if s.strip()]
    if items in (["all"], [ALL]):
        return (ALL,)
    if not items:
        raise OwnerError("say which stores the owner sees: store ids separated by commas, or 'all'")
    for s in items:
        if not STORE.match(s):
            raise OwnerError(f"store '{s}' must be 1-64 letters, digits, '.', '_' or '-'")
    return tuple(sorted(set(items)))


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise OwnerError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise OwnerError("the password is longer than 1024 characters")


def _now() -> int:
    return time.time_ns() // 1_000_000


def add(name: str, password: str, stores: tuple[str, ...]) -> Owner:
    if not NAME.match(name):
        raise OwnerError(f"owner name '{name}' must be 1-64 letters, digits, '.', '_', '@' or '-'")
    check_new_password(password)
    if HqOwner.get_or_none(HqOwner.name == name) is not None:
        raise OwnerError(f"owner '{name}' exists already: use 'caja serve owners edit'")
    now = _now()
    HqOwner.create(name=name, pw_hash=hash_password(password), stores=",".join(stores), created_at=now, updated_at=now)
    return Owner(name, stores)


def edit(name: str, *, password: str | None = None, stores: tuple[str, ...] | None = None) -> Owner:
    """A new password ends the owner's sessions; new stores apply at their next request."""
    row = HqOwner.get_or_none(HqOwner.name == name)
    if row is None:
        raise OwnerError(f"no owner '{name}'")
    if password is not None:
        check_new_password(password)
        row.pw_hash = hash_password(password)
        HqSession.delete().where(HqSession.owner == name).execute()
    if stores is not None:
        row.stores = ",".join(stores)
    row.updated_at = _now()
    row.save()
    return _owner(row)


def remove(name: str) -> bool:
    HqSession.delete().where(HqSession.owner == name).execute()
    return HqOwner.delete().where(HqOwner.name == name).execute() > 0


def listing() -> list[Owner]:
    return [_owner(r) for r in HqOwner.select().order_by(HqOwner.name)]


def get(name: str) -> Owner | None:
    row = HqOwner.get_or_none(HqOwner.name == name)
    return _owner(row) if row else None


def authenticate(name: str, password: str) -> Owner | None:
    row = HqOwner.get_or_none(HqOwner.name == name) if NAME.match(name) else None
    if row is None:
        check_password(_DUMMY, password)
        return None
    return _owner(row) if check_password(row.pw_hash, password) else None


def _owner(row: HqOwner) -> Owner:
    return Owner(row.name, tuple(s for s in row.stores.split(",") if s))
