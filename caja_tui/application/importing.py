"""`caja import-products FILE.csv`: all rows are checked first; one bad row and nothing is written.

Columns (header required, any order): sku, barcode, name, price, tax_rate, stock, category.
price is a decimal in major units (12.50), tax_rate a percentage (16 or 10.5), stock a whole number.
barcode may hold several codes separated by `|`. A SKU already in the catalog updates that product (only
the fields that differ) and a different stock is recorded as a count, so an exported catalog re-imports.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any, cast

from msgspec import Struct

from ..domain import money, rules
from ..domain.errors import DomainError
from ..domain.events import MAX_QTY, ProductChanges, ProductCreated, ProductUpdated, StockCounted
from ..domain.ids import uuid7
from .ports import Store

COLUMNS = ("sku", "barcode", "name", "price", "tax_rate", "stock", "category")
REQUIRED = ("sku", "name", "price", "tax_rate")
MAX_ERRORS = 20


class ImportRow(Struct, frozen=True):
    line: int
    sku: str
    barcodes: list[str]
    name: str
    price: int
    tax_rate: int
    stock: int | None
    category: str


class ImportError_(Exception):
    """The file has bad rows; `errors` lists them by line number. Nothing was written."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class ImportResult(Struct, frozen=True):
    created: int
    updated: int
    unchanged: int
    counted: int


def _header(reader) -> list[str]:
    """The header line, lower-cased; every required column, no unknown one, none twice."""
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportError_([f"the file is empty; the first line must be the header {','.join(COLUMNS)}"]) from None
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        if len(set(header)) != len(header):
            problems.append("a column appears twice")
        raise ImportError_([f"line 1: {'; '.join(problems)}; expected the header {','.join(COLUMNS)}"])
    return header


def _stock(stock_text: str) -> int | None:
    if not stock_text:
        return None
    if not stock_text.lstrip("-").isdigit():
        raise DomainError("BAD_STOCK", "stock '{stock_text}' must be a whole number", stock_text=stock_text)
    stock = int(stock_text)
    if not 0 <= stock <= MAX_QTY * 100:
        raise DomainError("BAD_STOCK", "stock must be between 0 and {high}", high=MAX_QTY * 100)
    return stock


def _row(line: int, cell, currency_exponent: int, seen_sku: dict[str, int], seen_code: dict[str, int]) -> ImportRow:
    """One record as a checked row (a DomainError says what is wrong with it); `seen_*` are the earlier rows'."""
    sku, name = cell("sku"), cell("name")
    barcodes = [b.strip() for b in cell("barcode").split("|") if b.strip()]
    price = money.parse_money(cell("price"), currency_exponent)
    tax_rate = money.parse_rate(cell("tax_rate"))
    stock = _stock(cell("stock"))
    category = cell("category")
    rules.check_product_fields(
        {"sku": sku, "name": name, "price": price, "tax_rate": tax_rate, "barcodes": barcodes, "category": category}
    )
    if sku in seen_sku:
        raise DomainError("DUPLICATE_SKU", "SKU '{sku}' is also on line {line}", sku=sku, line=seen_sku[sku])
    for code in barcodes:
        if code in seen_code:
            raise DomainError(
                "DUPLICATE_BARCODE", "barcode '{barcode}' is also on line {line}", barcode=code, line=seen_code[code]
            )
    return ImportRow(line, sku, barcodes, name, price, tax_rate, stock, category)


def parse_csv(text: str, currency_exponent: int) -> list[ImportRow]:
    if text.startswith("\ufeff"):
        text = text[1:]
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = _header(reader)
    index = {name: i for i, name in enumerate(header)}
    rows: list[ImportRow] = []
    errors: list[str] = []
    seen_sku: dict[str, int] = {}
    seen_code: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            errors.append(f"line {line}: has {len(record)} fields, the header has {len(header)}")
            continue

        def cell(name: str, record: list[str] = record) -> str:
            return record[index[name]].strip() if name in index else ""

        try:
            row = _row(line, cell, currency_exponent, seen_sku, seen_code)
        except DomainError as exc:
            errors.append(f"line {line}: {exc.message}")
        else:
            seen_sku[row.sku] = line
            for code in row.barcodes:
                seen_code[code] = line
            rows.append(row)
        if len(errors) >= MAX_ERRORS:
            errors.append("... stopping after the first errors")
            break
    if errors:
        raise ImportError_(errors)
    if not rows:
        raise ImportError_(["the file has a header but no products"])
    return rows


def import_rows(store: Store, actor: str, rows: Iterable[ImportRow]) -> ImportResult:
    """Write every row in one transaction (all or nothing)."""
    rows = list(rows)
    created = updated = unchanged = counted = 0
    with store.transaction(bulk=True) as tx:
        by_sku = {r.sku: r for r in rows}
        used = tx.products_using(list(by_sku), [c for r in rows for c in r.barcodes])
        existing = {sku: used[sku] for sku in by_sku if sku in used}
        errors = []
        for r in rows:
            owner = existing.get(r.sku)
            for code in r.barcodes:
                if code in used and used[code] != owner:
                    errors.append(f"line {r.line}: barcode '{code}' already belongs to another product")
        if errors:
            raise ImportError_(errors[:MAX_ERRORS])
        for r in rows:
            fields = {
                "sku": r.sku,
                "name": r.name,
                "price": r.price,
                "tax_rate": r.tax_rate,
                "barcodes": r.barcodes,
                "category": r.category,
            }
            pid = existing.get(r.sku)
            if pid is None:
                pid = uuid7()
                tx.emit(ProductCreated(product_id=pid, **cast(dict[str, Any], fields)), actor)
                created += 1
                if r.stock:
                    tx.emit(StockCounted(product_id=pid, counted=r.stock, previous=0), actor)
                    counted += 1
                continue
            current = tx.product(pid)
            assert current is not None
            changed = {k: v for k, v in fields.items() if getattr(current, k) != v}
            if changed:
                tx.emit(
                    ProductUpdated(
                        product_id=pid,
                        changes=ProductChanges(**cast(dict[str, Any], changed)),
                        base_hlc=current.updated_hlc,
                    ),
                    actor,
                )
                updated += 1
            else:
                unchanged += 1
            if r.stock is not None and r.stock != current.stock:
                tx.emit(StockCounted(product_id=pid, counted=r.stock, previous=current.stock), actor)
                counted += 1
    return ImportResult(created=created, updated=updated, unchanged=unchanged, counted=counted)
