"""A transaction's queries of people: the till's users and the shop's customers (and a customer's sales)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..application.ports import UserView
from ..domain.events import decode_payload
from ..domain.pins import PinState
from ..domain.rights import Rights, fold_user, stamp
from .reads import Reads


class PeopleQueries(Reads):
    _USER_COLS = "SELECT id, name, role, pin_hash, active, updated_hlc FROM user "

    @staticmethod
    def _user_view(r: Sequence[Any]) -> UserView:
        return UserView(id=r[0], name=r[1], role=r[2], pin_hash=r[3], active=bool(r[4]), updated_hlc=r[5])

    def user(self, user_id: str) -> UserView | None:
        r = self._q(self._USER_COLS + "WHERE id = ? AND created_hlc > 0", (user_id,)).fetchone()
        return self._user_view(r) if r else None

    def users(self, *, active_only: bool = True) -> list[UserView]:
        cond = "AND active = 1" if active_only else ""
        rows = self._q(self._USER_COLS + f"WHERE created_hlc > 0 {cond} ORDER BY name COLLATE NOCASE").fetchall()
        return [self._user_view(r) for r in rows]

    def pin_state(self, user_id: str) -> PinState:
        """A user's wrong PINs in a row on this till (store/projections.py folds them from its `pin.*` events)."""
        r = self._q(
            "SELECT failures, locked, last_failed_at FROM pin_attempt WHERE device_id = ? AND user_id = ?",
            (self.store.device_id, user_id),
        ).fetchone()
        return PinState(r[0], bool(r[1]), r[2]) if r else PinState()

    def pin_locked(self) -> set[str]:
        """The users this till takes no PIN of until a manager lifts their lockout."""
        return {
            r[0]
            for r in self._q(
                "SELECT user_id FROM pin_attempt WHERE device_id = ? AND locked = 1", (self.store.device_id,)
            )
        }

    def till_pin_failures(self, since_ms: int, until_ms: int) -> tuple[int, int]:
        """(how many wrong PINs this till took after `since_ms` and up to `until_ms`, when the oldest was typed):
        read through the partial index `event_pin_failed`, which holds those events only."""
        r = self._q(
            "SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM event WHERE type = 'pin.failed' AND device_id = ? "
            "AND created_at > ? AND created_at <= ?",
            (self.store.device_id, since_ms, until_ms),
        ).fetchone()
        return r[0], r[1]

    _CUSTOMER_COLS = (
        "SELECT id, name, COALESCE(tax_id, ''), COALESCE(phone, ''), COALESCE(email, ''), updated_hlc FROM customer "
    )

    @staticmethod
    def _customer(r: Sequence[Any]) -> dict[str, Any]:
        return dict(zip(("id", "name", "tax_id", "phone", "email", "updated_hlc"), r, strict=True))

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        r = self._q(self._CUSTOMER_COLS + "WHERE id = ? AND created_hlc > 0", (customer_id,)).fetchone()
        return self._customer(r) if r else None

    def find_customers(self, text: str, limit: int = 20) -> list[dict[str, Any]]:
        like = f"%{text.strip()}%"
        return [
            self._customer(r)
            for r in self._q(
                self._CUSTOMER_COLS
                + "WHERE created_hlc > 0 AND (name LIKE ? OR tax_id LIKE ? OR phone LIKE ? OR email LIKE ?) "
                "ORDER BY name COLLATE NOCASE LIMIT ?",
                (like, like, like, like, limit),
            )
        ]

    def sales_of_customer(self, customer_id: str, limit: int = 200) -> list[tuple[str, int, int]]:
        """(receipt_no, created_at, total) of a customer's sales, newest first."""
        return self._q(
            "SELECT receipt_no, created_at, total FROM sale WHERE customer_id = ? ORDER BY created_at DESC LIMIT ?",
            (customer_id, limit),
        ).fetchall()

    def count_users(self) -> int:
        return self._q("SELECT COUNT(*) FROM user WHERE created_hlc > 0").fetchone()[0]

    def rights(self, *, as_stored: bool = False) -> dict[str, Rights]:
        """The users as far as rights go (domain/rights.py): the read model, with this till's own `user.*` events
        that the server refused left out (they are not the store's). `as_stored`: also without those it has not
        stored yet, the view the server judged a pulled event by."""
        users = {
            r[0]: Rights(r[1], bool(r[2]), r[3], r[4])
            for r in self._q("SELECT id, role, COALESCE(active, 0), role_ts, active_ts FROM user")
        }
        left_out = "('failed', 'pending', 'syncing')" if as_stored else "('failed')"
        refused = self._q(
            f"SELECT DISTINCT aggregate FROM event WHERE sync_status IN {left_out} AND type IN ('user.created', "
            "'user.updated')"
        ).fetchall()
        for (aggregate,) in refused:
            user_id = aggregate.partition(":")[2]
            users.pop(user_id, None)
            for type_, v, payload, hlc, device_id in self._q(
                f"SELECT type, v, payload, hlc, device_id FROM event WHERE aggregate = ? AND sync_status NOT IN {left_out}",
                (aggregate,),
            ):
                fold_user(users, decode_payload(type_, v, payload), stamp(hlc, device_id))
        return users
