"""A transaction's queries of people: the till's users and the shop's customers (and a customer's sales)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..application.ports import UserView
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
