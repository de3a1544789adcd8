"""The till's screens. Each is imported when first shown, so the till starts with only sign-in and sales."""

from __future__ import annotations

import importlib

_WHERE = {
    "sales": ("sales", "SalesScreen"),
    "products": ("products", "ProductsScreen"),
    "stock": ("stock", "StockScreen"),
    "cash": ("cash", "CashScreen"),
    "sync": ("sync", "SyncScreen"),
    "audit": ("audit", "AuditScreen"),
    "reports": ("reports", "ReportsScreen"),
    "customers": ("customers", "CustomersScreen"),
    "settings": ("settings", "SettingsScreen"),
}


def load_screen(name: str):
    module, cls = _WHERE[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)()
