"""Products: create, update, delete; SKUs and barcodes unique among live products; in memory."""

from caja_tui.application import products, sales
from caja_tui.domain.cart import Cart
from tests.unit.fakes import a_product, a_till, refused


def scan(till, code):
    return sales.scan(till, Cart(), code)


def test_a_new_product_scans_by_its_barcode_and_its_sku_with_its_opening_stock():
    till = a_till()
    made = products.create_product(
        till, "ana", sku=" CAF-1 ", name=" Coffee ", price=8_900, tax_rate=0, barcodes=["7501", " "], stock=6
    )
    assert (made.sku, made.name, made.barcodes, made.stock) == ("CAF-1", "Coffee", ["7501"], 6)
    assert scan(till, "7501").id == made.id
    assert scan(till, "CAF-1").id == made.id


def test_a_sku_or_barcode_in_use_is_refused_and_nothing_is_written():
    till = a_till()
    a_product(till, "CAF-1", barcodes=["7501"])
    before = len(till.events)
    with refused("DUPLICATE_SKU"):
        a_product(till, "CAF-1")
    with refused("DUPLICATE_BARCODE"):
        a_product(till, "CAF-2", barcodes=["7501"])
    assert len(till.events) == before


def test_a_product_with_bad_fields_is_refused():
    till = a_till()
    with refused("BAD_SKU"):
        a_product(till, "with space")
    with refused("BAD_BARCODE"):
        a_product(till, "CAF-1", barcodes=["no spaces here"])


def test_a_new_price_is_what_the_next_sale_charges():
    till = a_till()
    coffee = a_product(till, "CAF-1", price=8_900)
    updated = products.update_product(till, "ana", coffee.id, {"price": 9_500})
    assert updated.price == 9_500 and updated.updated_hlc > coffee.updated_hlc
    cart = Cart()
    sales.scan(till, cart, "CAF-1")
    assert cart.lines[0].unit_price == 9_500


def test_an_update_that_changes_nothing_writes_nothing():
    till = a_till()
    coffee = a_product(till, "CAF-1", price=8_900)
    before = len(till.events)
    products.update_product(till, "ana", coffee.id, {"price": 8_900, "name": f" {coffee.name} "})
    assert len(till.events) == before


def test_an_update_may_not_take_another_products_sku_or_an_unknown_field():
    till = a_till()
    a_product(till, "CAF-1")
    tea = a_product(till, "TE-1")
    with refused("DUPLICATE_SKU"):
        products.update_product(till, "ana", tea.id, {"sku": "CAF-1"})
    with refused("BAD_FIELD"):
        products.update_product(till, "ana", tea.id, {"colour": "green"})


def test_a_deleted_product_no_longer_scans_and_its_sku_is_free_again():
    till = a_till()
    old = a_product(till, "CAF-1", barcodes=["7501"])
    products.delete_product(till, "ana", old.id)
    assert scan(till, "CAF-1") is None and scan(till, "7501") is None
    new = a_product(till, "CAF-1", barcodes=["7501"])
    assert scan(till, "7501").id == new.id


def test_a_deleted_product_can_be_neither_deleted_again_nor_updated():
    till = a_till()
    old = a_product(till, "CAF-1")
    products.delete_product(till, "ana", old.id)
    with refused("NO_SUCH_PRODUCT"):
        products.delete_product(till, "ana", old.id)
    with refused("NO_SUCH_PRODUCT"):
        products.update_product(till, "ana", old.id, {"price": 1})
