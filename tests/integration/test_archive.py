"""Archive: old synced events move into compressed chunks; rebuild and verify still cover them."""

from __future__ import annotations

from caja_tui.application import products, sales
from caja_tui.domain.cart import Cart
from caja_tui.domain.events import Tender
from caja_tui.store.archive import archive
from caja_tui.store.maintenance import read_model_digests, rebuild, verify
from tests.conftest import db, make_store, scalar


def _history(store, n=60):
    products.create_product(store, "ana", sku="P", name="Pan", price=1000, tax_rate=0, stock=500)
    receipts = []
    for _ in range(n):
        cart = Cart()
        sales.scan(store, cart, "P")
        receipts.append(
            sales.complete_sale(
                store, "luis", cart, [Tender(method="cash", amount=1000)], prices_include_tax=True
            ).receipt_no
        )
    return receipts


def test_archive_then_rebuild_gives_identical_read_models_and_verify_passes(staffed):
    receipts = _history(staffed)
    db(staffed).execute("UPDATE event SET sync_status = 'synced' WHERE seq <= 40")
    live = read_model_digests(db(staffed))
    total = scalar(staffed, "SELECT COUNT(*) FROM event")
    r = archive(staffed, 0, chunk=15)
    assert r.events == 40 and r.chunks == 3 and r.ratio > 1.5
    assert scalar(staffed, "SELECT COUNT(*) FROM event") == total - 40
    assert scalar(staffed, "SELECT COUNT(*) FROM event WHERE sync_status = 'synced'") == 0  # unsynced stay
    assert read_model_digests(db(staffed)) == live
    assert verify(staffed).ok
    rebuild(staffed)
    assert read_model_digests(db(staffed)) == live
    with staffed.read() as tx:
        old = tx.sale_by_receipt(receipts[0])
    assert len(old.event_hash) == 64  # an archived sale still shows its verification code


def test_only_old_enough_and_synced_events_are_archived(staffed):
    _history(staffed, 5)
    assert archive(staffed, 90).events == 0  # nothing is 90 days old
    assert archive(staffed, 0).events == 0  # nothing is synced yet
    db(staffed).execute("UPDATE event SET sync_status = 'failed' WHERE seq = 3")
    db(staffed).execute("UPDATE event SET sync_status = 'synced' WHERE seq != 3")
    total = scalar(staffed, "SELECT COUNT(*) FROM event")
    assert archive(staffed, 0).events == total - 1
    assert scalar(staffed, "SELECT COUNT(*) FROM event") == 1  # only the failed one is left
    assert verify(staffed).ok


def test_an_archived_event_pulled_again_is_a_duplicate(tmp_path, staffed):
    _history(staffed, 3)
    events = list(staffed.iter_events())
    other = make_store(tmp_path / "o.db", device_id="T02")
    other.apply_remote(events)
    archive(other, 0)  # remote events arrive synced: all archived
    again = other.apply_remote(events)
    assert (again.new, again.duplicates) == (0, len(events))
    assert verify(other).ok
    other.close()


def test_exported_events_include_the_archived_ones(staffed):
    import datetime as dt

    from caja_tui.application.export import export

    _history(staffed, 5)
    total = scalar(staffed, "SELECT COUNT(*) FROM event")
    db(staffed).execute("UPDATE event SET sync_status = 'synced' WHERE seq <= 4")
    assert archive(staffed, 0).events == 4
    lines = "".join(export(staffed, "events", "jsonl", exponent=2, tz=dt.UTC)).splitlines()
    assert len(lines) == total and '"seq":1,' in lines[0]
