"""A transaction's catalogue queries: products (by id, by a scanned code, by search) and their stock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from ..application.ports import ProductView
from .reads import Reads, chunks


class CatalogueQueries(Reads):
    _PRODUCT_COLS = (
        "SELECT p.id, p.sku, p.name, p.price, p.tax_rate, COALESCE(p.barcodes, '[]'), "
        "COALESCE(p.category, ''), COALESCE(s.qty, 0), p.updated_hlc, p.deleted IS NOT NULL "
        "FROM product p LEFT JOIN stock s ON s.product_id = p.id "
    )
    _LIVE = "p.created_hlc > 0 AND p.deleted IS NULL"

    @staticmethod
    def _product_view(r: Sequence[Any]) -> ProductView:
        return ProductView(
            id=r[0],
            sku=r[1],
            name=r[2],
            price=r[3],
            tax_rate=r[4],
            barcodes=msgspec.json.decode(r[5]),
            category=r[6],
            stock=r[7],
            updated_hlc=r[8],
            deleted=bool(r[9]),
        )

    def product(self, product_id: str) -> ProductView | None:
        r = self._q(self._PRODUCT_COLS + "WHERE p.id = ? AND p.created_hlc > 0", (product_id,)).fetchone()
        return self._product_view(r) if r else None

    def product_by_code(self, code: str) -> ProductView | None:
        """A scanned or typed code: a barcode first (what scanners send), then a SKU."""
        r = self._q(
            self._PRODUCT_COLS + f"JOIN barcode b ON b.product_id = p.id WHERE b.code = ? AND {self._LIVE} "
            "ORDER BY p.updated_hlc DESC LIMIT 1",
            (code,),
        ).fetchone()
        if r is None:
            r = self._q(
                self._PRODUCT_COLS + f"WHERE p.sku = ? AND {self._LIVE} ORDER BY p.updated_hlc DESC LIMIT 1", (code,)
            ).fetchone()
        return self._product_view(r) if r else None

    def search_products(
        self, text: str, limit: int = 50, offset: int = 0, *, max_stock: int | None = None
    ) -> list[ProductView]:
        """Live products whose name, SKU or category contains `text` (or a barcode equal to it); with
        `max_stock`, only those with at most that many in stock (the low-stock list). Best matches first: the
        SKU itself, then names that start with the text, then names with a word that does, then the rest,
        each group by name."""
        text = text.strip()
        like = f"%{text}%"
        low = "" if max_stock is None else " AND COALESCE(s.qty, 0) <= ?"
        args: tuple[Any, ...] = (like, like, like, text) + (() if max_stock is None else (max_stock,))
        rank = (text, f"{text}%", f"% {text}%")
        rows = self._q(
            self._PRODUCT_COLS + f"WHERE {self._LIVE} AND (p.name LIKE ? OR p.sku LIKE ? OR "
            "p.category LIKE ? OR p.id IN (SELECT product_id FROM barcode WHERE code = ?))"
            f"{low} ORDER BY CASE WHEN p.sku = ? COLLATE NOCASE THEN 0 WHEN p.name LIKE ? THEN 1 "
            "WHEN p.name LIKE ? THEN 2 ELSE 3 END, p.name COLLATE NOCASE LIMIT ? OFFSET ?",
            (*args, *rank, limit, offset),
        ).fetchall()
        return [self._product_view(r) for r in rows]

    def products_using(self, skus: Sequence[str], barcodes: Sequence[str]) -> dict[str, str]:
        """Which of these SKUs and barcodes live products already use: {sku or barcode: product_id}."""
        used: dict[str, str] = {}
        for chunk in chunks(list(skus), 500):
            marks = ",".join("?" * len(chunk))
            for code, pid in self._q(
                f"SELECT p.sku, p.id FROM product p WHERE p.sku IN ({marks}) AND {self._LIVE}", chunk
            ):
                used[code] = pid
        for chunk in chunks(list(barcodes), 500):
            marks = ",".join("?" * len(chunk))
            for code, pid in self._q(
                f"SELECT b.code, p.id FROM barcode b JOIN product p ON p.id = b.product_id "
                f"WHERE b.code IN ({marks}) AND {self._LIVE}",
                chunk,
            ):
                used[code] = pid
        return used

    def count_products(self) -> int:
        return self._q(f"SELECT COUNT(*) FROM product p WHERE {self._LIVE}").fetchone()[0]

    def stock_of(self, product_id: str) -> int:
        r = self._q("SELECT qty FROM stock WHERE product_id = ?", (product_id,)).fetchone()
        return r[0] if r else 0
