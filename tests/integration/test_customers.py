import pytest

from caja_tui.application import customers, products, sales
from caja_tui.domain.cart import Cart
from caja_tui.domain.errors import DomainError
from caja_tui.domain.events import Priority, Tender
from caja_tui.store.maintenance import verify
from tests.conftest import db


def test_customers_are_created_edited_attached_to_sales_and_found(staffed):
    cid = customers.create_customer(
        staffed,
        "luis",
        name="Ferretería Díaz",
        tax_id="FDI900101AB2",
        phone="+52 55 1234 5678",
        email="compras@ferreteria.mx",
    )
    customers.update_customer(staffed, "luis", cid, phone="55 8765 4321")
    products.create_product(staffed, "ana", sku="P", name="P", price=1000, tax_rate=0, stock=5)
    cart = Cart()
    sales.scan(staffed, cart, "P")
    cart.customer_id = cid
    done = sales.complete_sale(staffed, "luis", cart, [Tender(method="cash", amount=1000)], prices_include_tax=True)
    with staffed.read() as tx:
        found = tx.find_customers("díaz")
        assert [c["id"] for c in found] == [cid] and found[0]["phone"] == "55 8765 4321"
        assert [r[0] for r in tx.sales_of_customer(cid)] == [done.receipt_no]
        assert tx.sale(done.sale_id).customer_id == cid
    prio = db(staffed).execute("SELECT DISTINCT priority FROM event WHERE type LIKE 'customer.%'").fetchall()
    assert prio == [(int(Priority.NORMAL),)]
    assert verify(staffed).ok


@pytest.mark.parametrize(
    "fields",
    [{"name": " "}, {"name": "X", "email": "nope"}, {"name": "X", "phone": "abc"}, {"name": "X", "tax_id": "bad id!"}],
)
def test_bad_customer_fields_are_named(staffed, fields):
    with pytest.raises(DomainError) as e:
        customers.create_customer(staffed, "luis", **fields)
    assert e.value.field in fields


def test_a_sale_for_an_unknown_customer_is_refused(staffed):
    products.create_product(staffed, "ana", sku="P", name="P", price=1000, tax_rate=0)
    cart = Cart()
    sales.scan(staffed, cart, "P")
    cart.customer_id = "nobody"
    with pytest.raises(DomainError, match="customer"):
        sales.complete_sale(staffed, "luis", cart, [Tender(method="cash", amount=1000)], prices_include_tax=True)


def test_customer_events_an_older_release_kept_unprojected_appear_after_the_upgrade(tmp_path, staffed):
    from caja_tui.store.sqlite import SqliteStore
    from tests.conftest import make_store

    cid = customers.create_customer(staffed, "luis", name="Cliente antiguo")
    event = next(e for e in staffed.iter_events() if e.type == "customer.created")
    old = SqliteStore(tmp_path / "old.db", store_id="s1", device_id="T02")
    old.db.connect()
    old.migrate(upto=4)  # a release before customers: it keeps the event, cannot project it
    cols = ", ".join(r[1] for r in db(old).execute("PRAGMA table_info(event)"))  # that release's columns
    row = db(staffed).execute(f"SELECT {cols} FROM event WHERE event_id = ?", (event.event_id,)).fetchone()
    db(old).execute("INSERT INTO meta VALUES ('store_id', 's1'), ('device_id', 'T02')")
    db(old).execute(f"INSERT INTO event VALUES ({','.join('?' * len(row))})", (None, *row[1:]))
    old.close()
    new = make_store(tmp_path / "old.db", device_id="T02")
    with new.read() as tx:
        assert tx.customer(cid)["name"] == "Cliente antiguo"
    new.close()
