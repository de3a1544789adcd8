"""A store's settings as the owner's pages use them. Until stores carry their settings as `config.*` events
(issue 16, later), every store has the till's defaults; then `settings_of` will read them from a read model
folded like the others (fold.py), and the pages need not change."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StoreSettings:
    low_stock: int = 5  # the till's default `[till] low_stock`: products at or under it are "low stock"


def settings_of(store_id: str) -> StoreSettings:
    return StoreSettings()
