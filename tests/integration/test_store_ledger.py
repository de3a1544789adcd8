"""The stock ledger's shape (migration 11): clustered by product and stamp, an older release's ledger converted
with every movement kept, and a rebuild (the bulk projection) giving the same stock as selling did."""

from caja_tui.application import products, stock
from caja_tui.bench.data import emit_sale
from caja_tui.domain.cart import CartLine
from caja_tui.store import migrations
from caja_tui.store.maintenance import read_model_digests, rebuild, verify
from tests.conftest import db, make_store, scalar

LEDGER = "SELECT product_id, ts, n, delta, kind FROM stock_movement ORDER BY product_id, ts, n"


def _history(store) -> list[str]:
    """Two products, a sale with one of them on two lines, a count, a delivery: ids of the products."""
    a = products.create_product(store, "ana", sku="A", name="A", price=100, tax_rate=0, barcodes=["7501"], stock=10)
    b = products.create_product(store, "ana", sku="B", name="B", price=200, tax_rate=0, barcodes=["7502"], stock=5)
    lines = [
        CartLine(product_id=p.id, sku=p.sku, name=p.name, qty=q, unit_price=p.price, tax_rate=0)
        for p, q in ((a, 1), (b, 2), (a, 3))
    ]
    with store.transaction() as tx:
        emit_sale(tx, "session", lines)
    stock.count_stock(store, "ana", b.id, 7)
    stock.receive_stock(store, "ana", a.id, 3)
    return [a.id, b.id]


def _stock(store, ids: list[str]) -> list[int]:
    with store.read() as tx:
        return [tx.stock_of(pid) for pid in ids]


def test_an_older_ledger_is_converted_with_every_movement_kept(staffed, tmp_path):
    ids = _history(staffed)
    before, ledger, qty = read_model_digests(db(staffed)), db(staffed).execute(LEDGER).fetchall(), _stock(staffed, ids)
    assert any(r[2] == 1 for r in ledger)  # the second line of a product in one sale
    with staffed.write():  # what release 10 left: a rowid table and an index, rows of an event in their order
        conn = db(staffed)
        conn.execute(
            "CREATE TABLE old (id INTEGER PRIMARY KEY, product_id TEXT NOT NULL, delta INTEGER NOT NULL, "
            "ts TEXT NOT NULL, kind TEXT NOT NULL)"
        )
        conn.execute(
            "INSERT INTO old (product_id, delta, ts, kind) SELECT product_id, delta, ts, kind "
            "FROM stock_movement ORDER BY ts, n"
        )
        conn.execute("DROP TABLE stock_movement")
        conn.execute("ALTER TABLE old RENAME TO stock_movement")
        conn.execute("CREATE INDEX stock_movement_product_ts ON stock_movement (product_id, ts)")
        conn.execute("PRAGMA user_version = 10")
    path = staffed.path
    staffed.close()
    s = make_store(path)
    try:
        assert s.schema_version() == migrations.LATEST
        assert db(s).execute(LEDGER).fetchall() == ledger
        assert read_model_digests(db(s)) == before and _stock(s, ids) == qty
        assert scalar(s, "SELECT COUNT(*) FROM sqlite_master WHERE tbl_name = 'stock_movement' AND type = 'index'") == 0
        assert verify(s).ok
    finally:
        s.close()


def test_a_rebuild_gives_the_stock_that_selling_gave(staffed):
    ids = _history(staffed)
    live, qty = read_model_digests(db(staffed)), _stock(staffed, ids)
    rebuild(staffed)
    assert read_model_digests(db(staffed)) == live and _stock(staffed, ids) == qty
    assert verify(staffed).ok


def test_a_file_older_than_a_rebuilding_migration_is_rebuilt_in_the_newest_shape(staffed, tmp_path):
    """Migration 4 asks for a rebuild; the projections write migration 11's ledger, so it comes after the last."""
    from caja_tui.store.sqlite import SqliteStore

    ids = _history(staffed)
    qty = _stock(staffed, ids)
    old = SqliteStore(tmp_path / "old.db", store_id="s1", device_id="T01")
    old.db.connect()
    old.migrate(upto=3)  # a release before Z numbers: its events, copied as that release stored them
    cols = ", ".join(r[1] for r in db(old).execute("PRAGMA table_info(event)"))
    rows = db(staffed).execute(f"SELECT {cols} FROM event ORDER BY id").fetchall()
    db(old).execute("INSERT INTO meta VALUES ('store_id', 's1'), ('device_id', 'T01')")
    db(old).executemany(f"INSERT INTO event ({cols}) VALUES ({','.join('?' * len(rows[0]))})", rows)
    old.close()
    s = make_store(tmp_path / "old.db")
    try:
        assert s.schema_version() == migrations.LATEST
        assert _stock(s, ids) == qty
        assert db(s).execute(LEDGER).fetchall() == db(staffed).execute(LEDGER).fetchall()
    finally:
        s.close()
