"""Schema migrations, keyed by SQLite's `user_version`.

A newer release opens an older file by running the migrations it lacks, each in its own transaction
together with the version bump. A migration that changes what projections produce asks for a rebuild of
the read models, done in the same transaction. A file from a newer release is refused with a clear message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

READ_MODEL_TABLES = (
    "product",
    "barcode",
    "stock",
    "stock_movement",
    "sale",
    "sale_line",
    "sale_payment",
    "sale_void",
    "refund",
    "refund_line",
    "cash_session",
    "cash_movement",
    "user",
    "customer",
    "pin_attempt",
    "store_setting",
)

V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE event (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    store_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hlc INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    v INTEGER NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    payload TEXT NOT NULL,
    priority INTEGER NOT NULL,
    aggregate TEXT NOT NULL,
    sync_status TEXT NOT NULL DEFAULT 'pending',
    sync_attempts INTEGER NOT NULL DEFAULT 0,
    sync_error TEXT,
    UNIQUE (device_id, seq)
);
CREATE INDEX event_sync_status_created ON event (sync_status, created_at);
CREATE INDEX event_store_device_sync ON event (store_id, device_id, sync_status);
CREATE INDEX event_outbox ON event (sync_status, priority DESC, seq);

CREATE TABLE device_state (
    device_id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    last_hash TEXT NOT NULL,
    last_hlc INTEGER NOT NULL,
    last_receipt INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE product (
    id TEXT PRIMARY KEY,
    sku TEXT, sku_ts TEXT NOT NULL DEFAULT '',
    name TEXT, name_ts TEXT NOT NULL DEFAULT '',
    price INTEGER, price_ts TEXT NOT NULL DEFAULT '',
    tax_rate INTEGER, tax_rate_ts TEXT NOT NULL DEFAULT '',
    barcodes TEXT, barcodes_ts TEXT NOT NULL DEFAULT '',
    category TEXT, category_ts TEXT NOT NULL DEFAULT '',
    deleted INTEGER, deleted_ts TEXT NOT NULL DEFAULT '',
    created_hlc INTEGER NOT NULL DEFAULT 0,
    updated_hlc INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX product_sku ON product (sku);
CREATE INDEX product_name ON product (name COLLATE NOCASE);

CREATE TABLE barcode (
    code TEXT NOT NULL,
    product_id TEXT NOT NULL,
    PRIMARY KEY (code, product_id)
) WITHOUT ROWID;
CREATE INDEX barcode_product ON barcode (product_id);

CREATE TABLE stock (
    product_id TEXT PRIMARY KEY,
    qty INTEGER NOT NULL DEFAULT 0,
    count_qty INTEGER NOT NULL DEFAULT 0,
    count_ts TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE stock_movement (
    id INTEGER PRIMARY KEY,
    product_id TEXT NOT NULL,
    delta INTEGER NOT NULL,
    ts TEXT NOT NULL,  -- the stamp (hlc + device id) of the event that moved it: identifies that event
    kind TEXT NOT NULL
);
CREATE INDEX stock_movement_product_ts ON stock_movement (product_id, ts);

CREATE TABLE sale (
    id TEXT PRIMARY KEY,
    receipt_no TEXT NOT NULL,
    event_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    hlc INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    subtotal INTEGER NOT NULL,
    discount INTEGER NOT NULL,
    tax INTEGER NOT NULL,
    total INTEGER NOT NULL,
    paid INTEGER NOT NULL,
    change INTEGER NOT NULL,
    prices_include_tax INTEGER NOT NULL,
    customer_id TEXT
);
CREATE INDEX sale_receipt ON sale (receipt_no);
CREATE INDEX sale_session ON sale (session_id);
CREATE INDEX sale_created ON sale (created_at);

CREATE TABLE sale_line (
    sale_id TEXT NOT NULL,
    line_no INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    qty INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    tax_rate INTEGER NOT NULL,
    discount INTEGER NOT NULL,
    sale_discount INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    tax INTEGER NOT NULL,
    PRIMARY KEY (sale_id, line_no)
) WITHOUT ROWID;

CREATE TABLE sale_payment (
    sale_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    method TEXT NOT NULL,
    amount INTEGER NOT NULL,
    reference TEXT NOT NULL,
    PRIMARY KEY (sale_id, idx)
) WITHOUT ROWID;

CREATE TABLE sale_void (
    sale_id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE refund (
    id TEXT PRIMARY KEY,
    sale_id TEXT NOT NULL,
    receipt_no TEXT NOT NULL,
    event_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    session_id TEXT,
    hlc INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    total INTEGER NOT NULL,
    tax INTEGER NOT NULL,
    method TEXT NOT NULL,
    restock INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX refund_sale ON refund (sale_id);
CREATE INDEX refund_session ON refund (session_id);

CREATE TABLE refund_line (
    refund_id TEXT NOT NULL,
    line_no INTEGER NOT NULL,
    sale_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    qty INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    tax INTEGER NOT NULL,
    PRIMARY KEY (refund_id, line_no)
) WITHOUT ROWID;
CREATE INDEX refund_line_sale ON refund_line (sale_id, line_no);

CREATE TABLE cash_session (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    opening_float INTEGER,
    opened_at INTEGER,
    opened_by TEXT,
    closed_at INTEGER,
    closed_by TEXT,
    counted INTEGER,
    expected INTEGER,
    difference INTEGER,
    denominations TEXT
);
CREATE INDEX cash_session_device ON cash_session (device_id, closed_at);

CREATE TABLE cash_movement (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX cash_movement_session ON cash_movement (session_id);

CREATE TABLE user (
    id TEXT PRIMARY KEY,
    name TEXT, name_ts TEXT NOT NULL DEFAULT '',
    role TEXT, role_ts TEXT NOT NULL DEFAULT '',
    pin_hash TEXT, pin_hash_ts TEXT NOT NULL DEFAULT '',
    active INTEGER, active_ts TEXT NOT NULL DEFAULT '',
    created_hlc INTEGER NOT NULL DEFAULT 0,
    updated_hlc INTEGER NOT NULL DEFAULT 0
);
"""

V2 = """
CREATE TABLE draft_cart (
    slot TEXT PRIMARY KEY,
    cart TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
"""


V3 = """
CREATE INDEX event_aggregate_pending ON event (aggregate, sync_status, seq);

CREATE TABLE sync_conflict (
    event_id TEXT PRIMARY KEY,
    conflict_with TEXT NOT NULL,
    resolution TEXT NOT NULL,
    type TEXT NOT NULL,
    aggregate TEXT NOT NULL,
    detected_at INTEGER NOT NULL,
    resolved_at INTEGER,
    resolved_by TEXT,
    outcome TEXT
) WITHOUT ROWID;
"""


V4 = """
ALTER TABLE cash_session ADD COLUMN z_number INTEGER;
ALTER TABLE cash_session ADD COLUMN net_sales INTEGER;
ALTER TABLE cash_session ADD COLUMN grand_total INTEGER;
CREATE INDEX cash_session_z ON cash_session (device_id, z_number)
"""


V5 = """
CREATE TABLE customer (
    id TEXT PRIMARY KEY,
    name TEXT, name_ts TEXT NOT NULL DEFAULT '',
    tax_id TEXT, tax_id_ts TEXT NOT NULL DEFAULT '',
    phone TEXT, phone_ts TEXT NOT NULL DEFAULT '',
    email TEXT, email_ts TEXT NOT NULL DEFAULT '',
    created_hlc INTEGER NOT NULL DEFAULT 0,
    updated_hlc INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX customer_name ON customer (name COLLATE NOCASE);
CREATE INDEX sale_customer ON sale (customer_id)
"""


V6 = """
CREATE TABLE print_job (
    id INTEGER PRIMARY KEY,
    sale_id TEXT,
    text TEXT NOT NULL,
    drawer INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    printed_at INTEGER
);
CREATE INDEX print_job_status ON print_job (status, id)
"""


V7 = """
CREATE TABLE event_archive (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    raw_bytes INTEGER NOT NULL,
    data BLOB NOT NULL,
    archived_at INTEGER NOT NULL
);
CREATE INDEX event_archive_device ON event_archive (device_id, first_seq);
CREATE TABLE archived_event (
    event_id TEXT PRIMARY KEY,
    chunk INTEGER NOT NULL
) WITHOUT ROWID
"""

# A count by denomination was stored in the order the cashier typed it, a rebuild writes it sorted: every
# counted close made `caja verify` report a difference. Projections now write it sorted; this rewrites the
# rows an older release wrote (SQLite orders text keys bytewise, as msgspec's order="sorted" does).
# Version 2 of the protocol: each event of this till carries its device key's signature of its hash.
V9 = "ALTER TABLE event ADD COLUMN sig TEXT"

V8 = """
UPDATE cash_session SET denominations = (
    SELECT json_group_object(key, value) FROM (SELECT key, value FROM json_each(cash_session.denominations)
                                               ORDER BY key))
WHERE denominations IS NOT NULL AND json_valid(denominations) AND denominations <> '{}'
"""

# Wrong PINs (issue 15): each user's state on each till, the newest `pin.*` event's (store/projections.py); and
# the wrong PINs of this till in the last minute, counted through a partial index that a sale never enters.
V10 = """
CREATE TABLE IF NOT EXISTS pin_attempt (
    device_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    failures INTEGER NOT NULL,
    locked INTEGER NOT NULL,
    last_failed_at INTEGER NOT NULL,
    ts TEXT NOT NULL,
    PRIMARY KEY (device_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_pin_failed ON event (device_id, created_at) WHERE type = 'pin.failed'
"""
PIN_TYPES = ("pin.failed", "pin.locked", "pin.unlocked", "pin.accepted")

# The stock ledger clustered by product and stamp (issue 14): the table is its own index (a rowid table and an
# index on (product_id, ts) held every movement twice), and a count's recompute reads one range of it. `n` is the
# movement's place among its event's movements (a sale's line), which the old rows of one event, written in that
# order, keep as their order by id. Written in the new key's order (appended, not inserted at random): the ledger of
# 300,000 events in 5.6 s of CPU instead of 6.6 on the bench machine.
V11 = """
CREATE TABLE stock_movement_v11 (
    product_id TEXT NOT NULL,
    ts TEXT NOT NULL,  -- the stamp (hlc + device id) of the event that moved it: identifies that event
    n INTEGER NOT NULL,  -- its place among that event's movements (0 the first)
    delta INTEGER NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (product_id, ts, n)
) WITHOUT ROWID;
INSERT INTO stock_movement_v11 (product_id, ts, n, delta, kind)
    SELECT product_id, ts, ROW_NUMBER() OVER (PARTITION BY ts ORDER BY id) - 1, delta, kind FROM stock_movement
    ORDER BY 1, 2, 3;
DROP TABLE stock_movement;
ALTER TABLE stock_movement_v11 RENAME TO stock_movement
"""

# The store's settings (issue 16): one row per setting an event has set, last writer wins by stamp (store/settings.py).
V12 = """
CREATE TABLE IF NOT EXISTS store_setting (
    field TEXT PRIMARY KEY,
    value TEXT NOT NULL,  -- JSON
    ts TEXT NOT NULL,  -- the stamp (20-digit hlc + device id) of the event that set it
    actor TEXT NOT NULL,
    at INTEGER NOT NULL  -- that event's created_at (ms)
) WITHOUT ROWID
"""


def _cluster_ledger(conn) -> None:
    """V11, unless the ledger already has its new shape (a file whose version was set back by hand)."""
    if "n" not in {r[1] for r in conn.execute("PRAGMA table_info(stock_movement)")}:
        for stmt in V11.split(";\n"):
            conn.execute(stmt)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str
    rebuild: bool = False
    project_types: tuple[str, ...] = ()  # events of these types (kept, unprojected, by an older release) projected now
    step: Callable[[Any], None] | None = None  # run after `sql`, on the connection, in the same transaction


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "event log, outbox and read models", V1),
    Migration(2, "draft carts that survive a crash", V2),
    Migration(3, "sync: the outbox's per-aggregate order, conflicts answered by the server", V3),
    Migration(4, "Z reports: numbers and a perpetual grand total on closed sessions", V4, rebuild=True),
    Migration(5, "customers", V5, project_types=("customer.created", "customer.updated")),
    Migration(6, "the print queue", V6),
    Migration(7, "the event archive", V7),
    Migration(8, "counts by denomination stored in canonical (sorted) order", V8),
    Migration(9, "signed events: each event's signature", V9),
    Migration(10, "wrong PINs: each user's tries on each till", V10, project_types=PIN_TYPES),
    Migration(11, "the stock ledger clustered by product and stamp", "", step=_cluster_ledger),
    Migration(12, "the store's settings (config.updated)", V12, project_types=("config.updated",)),
)
LATEST = MIGRATIONS[-1].version


class NewerSchema(Exception):
    pass


def foreign(conn) -> str | None:
    """Why the SQLite file open on `conn` is not a Caja database (None: it is one, or it is new and empty). Asked
    before anything is written to it: another program's file is refused, not given Caja's tables."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if {"meta", "event"} <= tables or (not tables and conn.execute("PRAGMA user_version").fetchone()[0] == 0):
        return None
    shown = ", ".join(sorted(tables)[:6]) or "none"
    return f"is not a Caja database: a SQLite file of another program (its tables: {shown}; is [till] db right?)"


def pending(current: int) -> list[Migration]:
    if current > LATEST:
        raise NewerSchema(
            f"this database was written by a newer Caja (schema {current}, this release knows {LATEST}); "
            "upgrade Caja to open it"
        )
    return [m for m in MIGRATIONS if m.version > current]
