import pytest

from caja_tui.application.importing import ImportError_, parse_csv

GOOD = "sku,barcode,name,price,tax_rate,stock,category\nA-1,7501,Pan,12.50,16,10,Panadería\nB-2,,Sal,3,0,,\n"


def test_a_good_file_parses_to_minor_units_and_basis_points():
    rows = parse_csv(GOOD, 2)
    assert [(r.sku, r.price, r.tax_rate, r.stock, r.barcodes) for r in rows] == [
        ("A-1", 1250, 1600, 10, ["7501"]),
        ("B-2", 300, 0, None, []),
    ]


def test_semicolon_files_and_a_bom_are_accepted():
    rows = parse_csv("\ufeff" + GOOD.replace(",", ";").replace("12.50", "12,50"), 2)
    assert rows[0].price == 1250


def test_bad_rows_are_reported_by_line_number():
    text = (
        GOOD + "C-3,7501,Dup barcode,1.00,16,1,\nD 4,,Bad sku,1.00,16,1,\nE-5,,Bad price,1.234,16,1,\nF-6,,x,1,abc,1,\n"
    )
    with pytest.raises(ImportError_) as e:
        parse_csv(text, 2)
    errors = e.value.errors
    assert errors[0].startswith("line 4: barcode '7501' is also on line 2")
    assert errors[1].startswith("line 5: SKU")
    assert errors[2].startswith("line 6: price '1.234' has more than 2 decimal")
    assert errors[3].startswith("line 7: tax rate 'abc'")
    assert len(errors) == 4


def test_a_wrong_header_names_the_columns():
    with pytest.raises(ImportError_, match="missing column\\(s\\) price.*unknown column\\(s\\) cost"):
        parse_csv("sku,name,cost,tax_rate\nA,B,1,16\n", 2)
    with pytest.raises(ImportError_, match="empty"):
        parse_csv("", 2)
