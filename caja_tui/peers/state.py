"""What the sync process last knew of the peers, in `<db>.peers.json` beside the database (gossip.py writes it).

The status line, the sync screen and `caja status` read it; this module imports nothing of the network, so the
till's screens never load the HTTP client to draw "LAN 2".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..domain.clock import system_ms

IN_TOUCH_S = 30.0  # a peer answered within this: the status line counts it


def state_path(db_path: Path) -> Path:
    return Path(str(db_path) + ".peers.json")


def read_state(db_path: Path) -> list[dict[str, Any]]:
    """What the sync process last knew of the peers ([] when it never ran or the file is unreadable)."""
    try:
        return list(json.loads(state_path(db_path).read_text(encoding="utf-8")).get("peers", []))
    except (OSError, ValueError, AttributeError):
        return []


def in_touch(peers: list[dict[str, Any]], now_ms: int | None = None) -> int:
    now = system_ms() if now_ms is None else now_ms
    return sum(1 for p in peers if p.get("last_seen") and now - p["last_seen"] <= IN_TOUCH_S * 1000)
