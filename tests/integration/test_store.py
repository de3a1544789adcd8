"""The store on real SQLite files: durability settings, one transaction per use case, read models."""

import sqlite3

import pytest

from caja_tui.application import cash, products, sales, stock, users
from caja_tui.domain.cart import Cart
from caja_tui.domain.errors import DomainError
from caja_tui.domain.events import Tender
from caja_tui.store import migrations
from caja_tui.store.maintenance import read_model_digests, rebuild, verify
from caja_tui.store.sqlite import SqliteStore, StoreError
from tests.conftest import StepClock, db, make_store, scalar


def _catalog(store):
    a = products.create_product(
        store, "ana", sku="PAN-1", name="Pan", price=1250, tax_rate=0, barcodes=["7501000000001"], stock=10
    )
    b = products.create_product(
        store, "ana", sku="REF-1", name="Refresco", price=1990, tax_rate=1600, barcodes=["7501000000002"], stock=24
    )
    return a, b


def _sell(store, actor="luis", codes=("7501000000001", "3*REF-1"), tenders=None):
    cart = Cart()
    for c in codes:
        assert sales.scan(store, cart, c) is not None
    tenders = tenders or [Tender(method="cash", amount=100_000)]
    return sales.complete_sale(store, actor, cart, tenders, prices_include_tax=True)


def test_the_file_is_wal_with_full_sync_and_a_busy_timeout(store):
    conn = db(store)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    idx = {
        r[1]: [c[2] for c in conn.execute(f"PRAGMA index_info({r[1]})")]
        for r in conn.execute("PRAGMA index_list(event)")
    }
    cols = sorted(idx.values())
    assert ["sync_status", "created_at"] in cols
    assert ["store_id", "device_id", "sync_status"] in cols
    assert ["event_id"] in cols and ["device_id", "seq"] in cols


def test_a_completed_sale_writes_its_event_and_read_models_together(staffed):
    _catalog(staffed)
    done = _sell(staffed)
    assert done.receipt_no == "T01-000001"
    assert done.total == 1250 + 3 * 1990 and done.change == 100_000 - done.total
    with staffed.read() as tx:
        sale = tx.sale_by_receipt("T01-000001")
        pan = tx.product_by_code("PAN-1")
        ref = tx.product_by_code("7501000000002")
    assert sale.total == done.total and [ln.qty for ln in sale.lines] == [1, 3]
    assert pan.stock == 9 and ref.stock == 21
    row = (
        db(staffed)
        .execute("SELECT type, sync_status, priority, actor FROM event WHERE event_id = ?", (done.event.event_id,))
        .fetchone()
    )
    assert row == ("sale.created", "pending", 100, "luis")
    assert staffed.load_draft() is None  # the draft went with the sale, in the same transaction


def test_seq_is_gapless_and_receipt_numbers_follow_each_other(staffed):
    _catalog(staffed)
    receipts = [_sell(staffed).receipt_no for _ in range(3)]
    assert receipts == ["T01-000001", "T01-000002", "T01-000003"]
    seqs = [r[0] for r in db(staffed).execute("SELECT seq FROM event WHERE device_id = 'T01' ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_refused_sale_writes_nothing(staffed):
    _catalog(staffed)
    before = scalar(staffed, "SELECT COUNT(*) FROM event")
    with pytest.raises(DomainError):
        _sell(staffed, tenders=[Tender(method="card", amount=999_999)])
    with pytest.raises(DomainError):
        _sell(staffed, actor="nobody")
    assert scalar(staffed, "SELECT COUNT(*) FROM event") == before
    assert scalar(staffed, "SELECT COUNT(*) FROM sale") == 0
    assert _sell(staffed).receipt_no == "T01-000001"  # no receipt number was used up


def test_a_failure_inside_the_transaction_rolls_everything_back(staffed):
    _catalog(staffed)
    before = scalar(staffed, "SELECT COUNT(*) FROM event")
    with pytest.raises(RuntimeError):
        with staffed.transaction() as tx:
            tx.emit(
                __import__("caja_tui.domain.events", fromlist=["x"]).StockAdjusted(
                    product_id="x", delta=1, reason="other"
                ),
                "ana",
            )
            raise RuntimeError("power cut")
    assert scalar(staffed, "SELECT COUNT(*) FROM event") == before
    assert scalar(staffed, "SELECT COUNT(*) FROM stock_movement WHERE product_id = 'x'") == 0


def test_selling_needs_an_open_cash_session(store):
    users.create_user(store, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    _catalog(store)
    with pytest.raises(DomainError) as e:
        _sell(store, actor="ana")
    assert e.value.code == "NO_SESSION"


def test_mixed_payment_and_card_overpayment(staffed):
    _catalog(staffed)
    total = 1250 + 3 * 1990
    done = _sell(staffed, tenders=[Tender(method="card", amount=5000), Tender(method="cash", amount=5000)])
    assert done.change == 10000 - total
    with pytest.raises(DomainError):
        _sell(staffed, tenders=[Tender(method="card", amount=total + 1)])


def test_the_draft_cart_survives_closing_and_reopening_the_file(tmp_path):
    s = make_store(tmp_path / "t.db")
    users.create_user(s, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    _catalog(s)
    cart = Cart()
    sales.scan(s, cart, "2*PAN-1")
    s.close()  # as if the process died here
    s2 = make_store(tmp_path / "t.db")
    kept = s2.load_draft()
    assert kept is not None and kept.lines[0].qty == 2 and kept.lines[0].sku == "PAN-1"
    s2.close()


def test_refunds_whole_and_partial_never_above_what_was_sold(staffed):
    _catalog(staffed)
    done = _sell(staffed)
    with pytest.raises(DomainError) as e:
        sales.refund_sale(staffed, "luis", done.receipt_no, {2: 1})
    assert e.value.code == "MANAGER_ONLY"
    r1 = sales.refund_sale(staffed, "ana", done.receipt_no, {2: 1}, restock=True)
    with pytest.raises(DomainError) as e:
        sales.refund_sale(staffed, "ana", done.receipt_no, {2: 3})
    assert e.value.code == "REFUND_TOO_BIG"
    r2 = sales.refund_sale(staffed, "ana", done.receipt_no, restock=False)  # the rest
    assert r1.total + r2.total == done.total
    with pytest.raises(DomainError) as e:
        sales.refund_sale(staffed, "ana", done.receipt_no)
    assert e.value.code == "ALREADY_REFUNDED"
    with staffed.read() as tx:
        assert tx.product_by_code("REF-1").stock == 24 - 3 + 1  # only the first refund restocked
        assert tx.product_by_code("PAN-1").stock == 9


def test_cash_session_expected_versus_counted(staffed):
    _catalog(staffed)
    done = _sell(staffed, tenders=[Tender(method="cash", amount=10_000)])
    _sell(staffed, tenders=[Tender(method="card", amount=7220)])
    cash.move_cash(staffed, "luis", "in", 2000, "change from the bank")
    with pytest.raises(DomainError):
        cash.move_cash(staffed, "luis", "out", 1000, "lunch")  # cash out needs a manager
    cash.move_cash(staffed, "ana", "out", 1000, "window cleaner")
    sales.refund_sale(staffed, "ana", done.receipt_no, {1: 1})
    summary = cash.current_summary(staffed)
    assert summary.expected == 50_000 + 10_000 - done.change + 2000 - 1000 - 1250
    assert summary.card_total == 7220 and summary.sales_count == 2
    with pytest.raises(DomainError):
        cash.close_session(staffed, "luis", counted=summary.expected)
    closed, _ = cash.close_session(staffed, "ana", denominations={"50000": 1, "1000": 9})
    assert closed.counted == 59_000 and closed.difference == 59_000 - summary.expected
    with pytest.raises(DomainError) as e:
        _sell(staffed)
    assert e.value.code == "NO_SESSION"


def test_skus_and_barcodes_are_unique(staffed):
    a, b = _catalog(staffed)
    with pytest.raises(DomainError) as e:
        products.create_product(staffed, "ana", sku="PAN-1", name="Otro", price=1, tax_rate=0)
    assert e.value.code == "DUPLICATE_SKU"
    with pytest.raises(DomainError) as e:
        products.update_product(staffed, "ana", b.id, {"barcodes": ["7501000000001"]})
    assert e.value.code == "DUPLICATE_BARCODE"
    products.delete_product(staffed, "ana", a.id)
    # a deleted product frees its SKU and barcode, and can no longer be scanned
    with staffed.read() as tx:
        assert tx.product_by_code("7501000000001") is None
    products.create_product(
        staffed, "ana", sku="PAN-1", name="Pan nuevo", price=1300, tax_rate=0, barcodes=["7501000000001"]
    )


def test_product_update_changes_only_given_fields(staffed):
    a, _ = _catalog(staffed)
    p = products.update_product(staffed, "ana", a.id, {"price": 1300, "barcodes": ["111", "222"]})
    assert (p.price, p.name, p.barcodes) == (1300, "Pan", ["111", "222"])
    with staffed.read() as tx:
        assert tx.product_by_code("222").id == a.id and tx.product_by_code("7501000000001") is None
    payload = db(staffed).execute("SELECT payload FROM event WHERE type = 'product.updated'").fetchone()[0]
    assert '"changes":{"barcodes":["111","222"],"price":1300}' in payload


def test_stock_adjust_count_receive(staffed):
    a, _ = _catalog(staffed)
    assert stock.adjust_stock(staffed, "ana", a.id, -2, "damaged") == 8
    assert stock.receive_stock(staffed, "ana", a.id, 12, unit_cost=800, supplier="Bimbo") == 20
    assert stock.count_stock(staffed, "ana", a.id, 17) == 17
    _sell(staffed)
    with staffed.read() as tx:
        assert tx.product(a.id).stock == 16
    with pytest.raises(DomainError):
        stock.adjust_stock(staffed, "ana", a.id, 1, "because")


def test_pin_is_stored_salted_and_checked(staffed):
    ana = users.authenticate(staffed, "ana", "1234")
    assert ana.role == "manager" and "1234" not in ana.pin_hash
    with pytest.raises(DomainError):
        users.authenticate(staffed, "ana", "9999")
    users.update_user(staffed, "ana", "luis", pin="4321")
    users.authenticate(staffed, "luis", "4321")
    luis_hash = db(staffed).execute("SELECT pin_hash FROM user WHERE id = 'luis'").fetchone()[0]
    ana_hash = db(staffed).execute("SELECT pin_hash FROM user WHERE id = 'ana'").fetchone()[0]
    assert luis_hash.split("$")[4] != ana_hash.split("$")[4]  # different salts


def test_every_event_names_its_actor(staffed):
    _catalog(staffed)
    _sell(staffed)
    actors = {r[0] for r in db(staffed).execute("SELECT DISTINCT actor FROM event")}
    assert actors == {"system", "luis", "ana"}


def test_rebuild_gives_the_same_read_models_and_verify_passes(staffed):
    _catalog(staffed)
    for _ in range(3):
        _sell(staffed)
    sales.refund_sale(staffed, "ana", "T01-000002", {2: 2})
    live = read_model_digests(db(staffed))
    r = rebuild(staffed)
    assert r.events == scalar(staffed, "SELECT COUNT(*) FROM event")
    assert read_model_digests(db(staffed)) == live
    assert verify(staffed).ok


def test_verify_catches_an_altered_event_and_a_drifted_read_model(staffed):
    _catalog(staffed)
    done = _sell(staffed)
    db(staffed).execute("UPDATE stock SET qty = qty + 5 WHERE product_id = (SELECT id FROM product WHERE sku='PAN-1')")
    report = verify(staffed)
    assert not report.ok and any("read model 'stock'" in p for p in report.problems)
    rebuild(staffed)
    assert verify(staffed).ok
    db(staffed).execute(
        "UPDATE event SET payload = replace(payload, '\"total\":', '\"total\":1') WHERE event_id = ?",
        (done.event.event_id,),
    )
    report = verify(staffed)
    assert any("hash does not match" in p for p in report.problems)


def test_verify_catches_a_missing_event(staffed):
    _catalog(staffed)
    db(staffed).execute("DELETE FROM event WHERE seq = 3")
    report = verify(staffed)
    assert any("events 3..3 are missing" in p for p in report.problems)


def test_unique_event_id_and_device_seq_are_enforced_by_the_database(staffed):
    _catalog(staffed)
    row = db(staffed).execute("SELECT * FROM event WHERE seq = 1").fetchone()
    with pytest.raises(sqlite3.IntegrityError):
        db(staffed).execute(f"INSERT INTO event VALUES ({','.join('?' * len(row))})", (None, *row[1:]))
    dup_seq = (None, "other-id", *row[2:])
    with pytest.raises(sqlite3.IntegrityError):
        db(staffed).execute(f"INSERT INTO event VALUES ({','.join('?' * len(row))})", dup_seq)


def test_an_older_file_is_migrated_when_opened(tmp_path):
    path = tmp_path / "old.db"
    old = SqliteStore(path, store_id="s1", device_id="T01")
    old.db.connect()
    assert old.migrate(upto=1) == [1]  # what an older release created
    db(old).execute("INSERT INTO meta VALUES ('store_id', 's1'), ('device_id', 'T01')")
    old.close()
    s = make_store(path)
    assert s.schema_version() == migrations.LATEST
    users.create_user(s, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    _catalog(s)
    cart = Cart()
    sales.scan(s, cart, "PAN-1")  # the draft table came with the migration
    assert s.load_draft() is not None
    s.close()


def test_a_file_from_a_newer_release_is_refused_clearly(tmp_path):
    path = tmp_path / "new.db"
    make_store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {migrations.LATEST + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer Caja"):
        make_store(path)


def test_a_file_of_another_till_is_refused(tmp_path):
    make_store(tmp_path / "t.db", device_id="T01").close()
    with pytest.raises(StoreError, match="belongs to store 's1' device 'T01'"):
        make_store(tmp_path / "t.db", device_id="T02")


def test_remote_events_apply_once(tmp_path, staffed):
    _catalog(staffed)
    _sell(staffed)
    events = list(staffed.iter_events())
    other = make_store(tmp_path / "other.db", device_id="T02")
    assert other.apply_remote(events).new == len(events)
    again = other.apply_remote(events)
    assert (again.new, again.duplicates) == (0, len(events))
    assert read_model_digests(db(other)) == read_model_digests(db(staffed))
    other.close()


def test_after_a_restart_new_events_come_after_every_remote_event_seen(tmp_path):
    from caja_tui.domain.clock import pack

    behind = 1_764_270_000_000 - 120_000  # this till's clock is two minutes behind the other's
    a = make_store(tmp_path / "a.db", device_id="A", wall=StepClock(1_764_270_000_000))
    users.create_user(a, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    remote = list(a.iter_events())
    a.close()
    b = make_store(tmp_path / "b.db", device_id="B", wall=StepClock(behind))
    b.apply_remote(remote)
    b.close()
    b = make_store(tmp_path / "b.db", device_id="B", wall=StepClock(behind))
    p = products.create_product(b, "ana", sku="X", name="X", price=1, tax_rate=0)
    hlc = db(b).execute("SELECT hlc FROM event WHERE device_id = 'B'").fetchone()[0]
    assert hlc > max(e.hlc for e in remote) >= pack(1_764_270_000_000)
    assert p.updated_hlc == hlc
    b.close()


def test_a_remote_clock_far_ahead_does_not_drag_this_till_into_the_future(tmp_path):
    from caja_tui.domain.clock import wall_of

    now = 1_764_270_000_000
    a = make_store(tmp_path / "a.db", device_id="A", wall=StepClock(now + 86_400_000))  # a day ahead
    users.create_user(a, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    remote = list(a.iter_events())
    a.close()
    b = make_store(tmp_path / "b.db", device_id="B", wall=StepClock(now))
    b.apply_remote(remote)
    b.observe_time(now + 100 * 365 * 86_400_000)  # a server a century ahead
    b.close()
    b = make_store(tmp_path / "b.db", device_id="B", wall=StepClock(now))  # and after a restart
    products.create_product(b, "ana", sku="X", name="X", price=1, tax_rate=0)
    hlc = db(b).execute("SELECT hlc FROM event WHERE device_id = 'B'").fetchone()[0]
    assert now <= wall_of(hlc) <= now + 5 * 60_000 + 1000
    b.close()


def test_a_voided_sale_returns_stock_and_leaves_the_cash_figures(staffed):
    _catalog(staffed)
    keep = _sell(staffed, tenders=[Tender(method="cash", amount=10_000)])
    gone = _sell(staffed, tenders=[Tender(method="card", amount=3000), Tender(method="cash", amount=5000)])
    with pytest.raises(DomainError):
        sales.void_sale(staffed, "luis", gone.receipt_no)  # needs a manager
    sales.void_sale(staffed, "ana", gone.receipt_no, "customer changed their mind")
    summary = cash.current_summary(staffed)
    assert (summary.sales_count, summary.voids_count, summary.sales_total) == (1, 1, keep.total)
    assert summary.card_total == 0
    assert summary.expected == 50_000 + 10_000 - keep.change
    with staffed.read() as tx:
        assert tx.product_by_code("PAN-1").stock == 9  # only the kept sale took one
        assert tx.sale_by_receipt(gone.receipt_no).voided
    for again in (
        lambda: sales.void_sale(staffed, "ana", gone.receipt_no),
        lambda: sales.refund_sale(staffed, "ana", gone.receipt_no),
    ):
        with pytest.raises(DomainError) as e:
            again()
        assert e.value.code == "SALE_VOIDED"
    sales.refund_sale(staffed, "ana", keep.receipt_no, {1: 1})
    with pytest.raises(DomainError) as e:
        sales.void_sale(staffed, "ana", keep.receipt_no)
    assert e.value.code == "ALREADY_REFUNDED"
    assert verify(staffed).ok


def test_a_remote_event_whose_hash_does_not_match_is_refused(tmp_path, staffed):
    import msgspec

    _catalog(staffed)
    events = list(staffed.iter_events())
    forged = msgspec.structs.replace(events[-1], actor="mallory")
    other = make_store(tmp_path / "other.db", device_id="T02")
    r = other.apply_remote([*events[:-1], forged])
    assert r.new == len(events) - 1 and r.bad == [forged.event_id]
    other.close()


def test_runaway_emission_is_refused_but_a_sale_never_is(tmp_path):
    s = SqliteStore(tmp_path / "t.db", store_id="s1", device_id="T01", emit_limit_per_minute=5).open()
    users.create_user(s, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    cash.open_session(s, "ana", 0)
    p = products.create_product(s, "ana", sku="P", name="P", price=100, tax_rate=0)
    stock.adjust_stock(s, "ana", p.id, 1, "correction")
    stock.adjust_stock(s, "ana", p.id, 1, "correction")  # the 5th non-sale event of the minute
    with pytest.raises(Exception, match="limit; nothing was saved"):
        stock.adjust_stock(s, "ana", p.id, 1, "correction")
    assert scalar(s, "SELECT COUNT(*) FROM event WHERE type = 'stock.adjusted'") == 2
    for _ in range(10):
        cart = Cart()
        sales.scan(s, cart, "P")
        sales.complete_sale(s, "ana", cart, [Tender(method="cash", amount=100)], prices_include_tax=True)
    assert scalar(s, "SELECT COUNT(*) FROM sale") == 10
    from caja_tui.application.importing import ImportRow, import_rows

    import_rows(s, "system", [ImportRow(i, f"B{i}", [], f"B{i}", 1, 0, 1, "") for i in range(50)])  # bulk: exempt
    s.close()


def test_a_database_held_by_another_program_is_a_clear_error_not_a_hang(tmp_path, monkeypatch):
    from caja_tui.store import sqlite as sq

    s = make_store(tmp_path / "busy.db")
    monkeypatch.setitem(sq.PRAGMAS, "busy_timeout", 300)
    holder = sqlite3.connect(tmp_path / "busy.db")
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="stayed busy"):
            users.create_user(s, "system", name="Ana", role="manager", pin="1234")
    finally:
        holder.rollback()
        holder.close()
    users.create_user(s, "system", name="Ana", role="manager", pin="1234")  # and works once it is free
    s.close()


def test_a_session_closed_with_a_count_by_denomination_verifies(staffed):
    _catalog(staffed)
    _sell(staffed, tenders=[Tender(method="cash", amount=10_000)])
    # typed the way a cashier counts: big notes first, so not in sorted order
    cash.close_session(staffed, "ana", denominations={"50000": 1, "10000": 0, "1000": 9, "500": 2})
    report = verify(staffed)
    assert report.ok, report.problems


def test_a_count_stored_unsorted_by_an_older_release_is_made_canonical(tmp_path):
    path = tmp_path / "till.db"
    s = make_store(path)
    users.create_user(s, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    cash.open_session(s, "ana", 50_000)
    cash.close_session(s, "ana", denominations={"50000": 1, "1000": 0})
    with s.write():  # what release 7 left in the read model
        db(s).execute("""UPDATE cash_session SET denominations = '{"50000":1,"1000":0}'""")
    assert not verify(s).ok
    with s.write():  # and release 7's schema
        db(s).execute("ALTER TABLE event DROP COLUMN sig")  # added by migration 9
        db(s).execute("PRAGMA user_version = 7")
    s.close()
    s = make_store(path)
    assert s.schema_version() == migrations.LATEST
    assert db(s).execute("SELECT denominations FROM cash_session").fetchone()[0] == '{"1000":0,"50000":1}'
    assert verify(s).ok
    s.close()


def test_the_reason_decides_the_sign_and_a_loss_needs_a_manager(staffed):
    a, _b = _catalog(staffed)
    with pytest.raises(DomainError) as e:
        stock.adjust_stock(staffed, "ana", a.id, 2, "damaged")  # a loss never adds stock
    assert e.value.code == "BAD_SIGN"
    with pytest.raises(DomainError) as e:
        stock.adjust_stock(staffed, "ana", a.id, -1, "found")
    assert e.value.code == "BAD_SIGN"
    with pytest.raises(DomainError) as e:
        stock.adjust_stock(staffed, "luis", a.id, -1, "theft")  # a cashier cannot record a loss alone
    assert e.value.code == "MANAGER_ONLY"
    with pytest.raises(DomainError) as e:
        stock.adjust_stock(staffed, "luis", a.id, -1, "correction")  # nor take stock away by another name
    assert e.value.code == "MANAGER_ONLY"
    assert stock.adjust_stock(staffed, "luis", a.id, 1, "found") == 11
    assert stock.adjust_stock(staffed, "ana", a.id, -3, "theft") == 8


def test_a_search_lists_the_best_matches_first(staffed):
    for sku, name in (("ACE-1", "Aceite de pan"), ("PAN-9", "Empanada"), ("PAN", "Pan blanco"), ("X1", "Mi pan")):
        products.create_product(staffed, "ana", sku=sku, name=name, price=100, tax_rate=0)
    with staffed.read() as tx:
        found = [p.name for p in tx.search_products("pan")]
    # the SKU itself, a name that starts with it, a name with a word that does, then the rest by name
    assert found == ["Pan blanco", "Aceite de pan", "Mi pan", "Empanada"]
