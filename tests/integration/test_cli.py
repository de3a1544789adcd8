"""The `caja` command as a user runs it: a real process, real files, one-line errors, no tracebacks."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def caja(*args, cwd=None, env=None, input=None, timeout=120):
    """The real `caja` in a process of its own; `input`: what is typed on its standard input."""
    e = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "caja_tui.cli", *args],
        input=input,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=e,
        timeout=timeout,
    )


def init_synced(cfg, device, server, token, *more, env=None):
    """`caja init` of a till of the store `shop` that syncs with `server` (`more`: further options)."""
    options = ["--store", "shop", "--device", device, "--server", server, "--token", token, *more]
    return caja("--config", str(cfg), "init", *options, env=env)


@pytest.fixture
def till(tmp_path):
    cfg = tmp_path / "caja.toml"
    r = caja("--config", str(cfg), "init", "--demo", "--device", "T09")
    assert r.returncode == 0, r.stderr
    return cfg


def test_init_demo_writes_config_database_and_catalog(till):
    assert 'device_id = "T09"' in till.read_text()
    conn = sqlite3.connect(till.parent / "caja.db")
    n_products = conn.execute("SELECT COUNT(*) FROM product").fetchone()[0]
    n_barcodes = conn.execute("SELECT COUNT(DISTINCT code) FROM barcode").fetchone()[0]
    in_stock = conn.execute("SELECT COUNT(*) FROM stock WHERE qty > 0").fetchone()[0]
    users = dict(conn.execute("SELECT name, role FROM user").fetchall())
    assert n_products >= 200 and n_barcodes >= 200 and in_stock >= 200
    assert users == {"Ana": "manager", "Luis": "cashier"}
    again = caja("--config", str(till), "init", "--demo")
    assert again.returncode == 0 and "left as it is" in again.stdout
    assert conn.execute("SELECT COUNT(*) FROM product").fetchone()[0] == n_products


def test_init_reads_the_config_path_from_the_environment(tmp_path):
    cfg = tmp_path / "env.toml"
    r = caja("init", env={"CAJA_CONFIG": str(cfg)})
    assert r.returncode == 0, r.stderr
    assert cfg.exists() and (tmp_path / "env.db").exists()  # named after its config: tills never share a file


def test_import_products_then_verify_and_rebuild(till, tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text(
        "sku,barcode,name,price,tax_rate,stock,category\n"
        "NEW-1,8400000000017,Café 250 g,89.90,16,12,Bebidas\n"
        "ABA-01A,7500100100004,Arroz 1 kg,35.00,0,42,Abarrotes\n",
        encoding="utf-8",
    )
    r = caja("--config", str(till), "import-products", str(csv))
    assert r.returncode == 0, r.stderr
    assert "1 new, 1 updated" in r.stdout
    conn = sqlite3.connect(till.parent / "caja.db")
    assert conn.execute("SELECT price FROM product WHERE sku = 'ABA-01A'").fetchone()[0] == 3500
    assert (
        conn.execute(
            "SELECT s.qty FROM product p JOIN stock s ON s.product_id = p.id WHERE p.sku = 'NEW-1'"
        ).fetchone()[0]
        == 12
    )
    v = caja("--config", str(till), "verify")
    assert v.returncode == 0 and v.stdout.startswith("ok:"), v.stdout + v.stderr
    rb = caja("--config", str(till), "rebuild")
    assert rb.returncode == 0 and "events/s" in rb.stdout


def test_a_bad_csv_row_is_reported_by_line_and_nothing_is_written(till, tmp_path):
    conn = sqlite3.connect(till.parent / "caja.db")
    before = conn.execute("SELECT COUNT(*) FROM event").fetchone()[0]
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "sku,barcode,name,price,tax_rate,stock,category\nOK-1,,Bueno,1.00,16,1,\nOK-2,,Precio malo,uno,16,1,\n",
        encoding="utf-8",
    )
    r = caja("--config", str(till), "import-products", str(csv))
    assert r.returncode == 1
    assert "line 3: price 'uno' is not a number" in r.stderr and "nothing was imported" in r.stderr
    assert "Traceback" not in r.stderr
    assert conn.execute("SELECT COUNT(*) FROM event").fetchone()[0] == before
    clash = tmp_path / "clash.csv"
    clash.write_text("sku,barcode,name,price,tax_rate,stock,category\nZZ-1,7500100100004,Otro,1.00,16,1,\n")
    r = caja("--config", str(till), "import-products", str(clash))
    assert r.returncode == 1 and "line 2: barcode '7500100100004' already belongs to another product" in r.stderr


def test_bad_config_gets_one_clear_line(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[till]\ncurrency_exponent = "dos"\n')
    r = caja("--config", str(cfg), "verify")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "till.currency_exponent: expected int, got str" in r.stderr and "Traceback" not in r.stderr


def test_a_missing_database_says_to_run_init(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[till]\ndb = "nowhere.db"\n')
    r = caja("--config", str(cfg), "verify")
    assert r.returncode == 1 and "run `caja init`" in r.stderr


def test_verify_fails_with_a_clear_report_on_tampering(till):
    conn = sqlite3.connect(till.parent / "caja.db")
    conn.execute("UPDATE event SET actor = 'mallory' WHERE seq = 5")
    conn.commit()
    r = caja("--config", str(till), "verify")
    assert r.returncode == 1
    assert "seq 5: hash does not match" in r.stdout and "verify failed" in r.stdout


def test_the_plain_till_sells_from_typed_input(till):
    script = "2\n0000\n500\n7500100100004\n2*LAC-01A\npay cash 200\nquit\n"
    r = caja("--config", str(till), input=script, timeout=60)  # no command: the plain till
    assert r.returncode == 0, r.stderr
    assert "Ticket T09-000001" in r.stdout and "CAMBIO" in r.stdout  # the receipt, in the till's language
    conn = sqlite3.connect(till.parent / "caja.db")
    assert conn.execute("SELECT total, change FROM sale").fetchone() == (3290 + 2 * 2890, 20000 - 3290 - 2 * 2890)


def test_exported_products_round_trip_through_import(till, tmp_path):
    out = tmp_path / "products.csv"
    assert caja("--config", str(till), "export", "products", "-o", str(out)).returncode == 0
    again = caja("--config", str(till), "import-products", str(out))
    assert again.returncode == 0 and "0 new, 0 updated, 240 unchanged, 0 stock counts" in again.stdout
    other = tmp_path / "other.toml"
    assert caja("--config", str(other), "init").returncode == 0
    assert caja("--config", str(other), "import-products", str(out)).returncode == 0
    second = tmp_path / "second.csv"
    assert caja("--config", str(other), "export", "products", "-o", str(second)).returncode == 0
    assert second.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_export_sales_and_events_by_day(till):
    script = "2\n0000\n500\n7500100100004\npay cash 50\nquit\n"
    caja("--config", str(till), input=script, timeout=60).check_returncode()
    sales_csv = caja("--config", str(till), "export", "sales").stdout.splitlines()
    assert sales_csv[0].startswith("receipt_no,date,time") and sales_csv[1].startswith("T09-000001,")
    assert "cash:50.00" in sales_csv[1]
    events = caja("--config", str(till), "export", "events", "--format", "jsonl").stdout.splitlines()
    assert len(events) == 484 and '"type":"sale.created"' in events[-1]
    none = caja("--config", str(till), "export", "sales", "--from", "2001-01-01", "--to", "2001-01-02").stdout
    assert none.strip().count("\n") == 0  # only the header
    bad = caja("--config", str(till), "export", "sales", "--from", "yesterday")
    assert bad.returncode == 2 and "--from 'yesterday' is not a date" in bad.stderr


def test_init_for_a_real_shop_creates_the_first_manager_and_checks_the_token(tmp_path):
    from tests.server_proc import ServerProcess

    srv = ServerProcess(str(tmp_path / "server.db"), workers=1).start()
    try:
        token = srv.enroll("shop", "T2")
        cfg = tmp_path / "t2.toml"
        r = init_synced(cfg, "T2", srv.url, token, "--manager", "Rosa", env={"CAJA_PIN": "2468"})
        assert r.returncode == 0, r.stderr
        assert "knows this till (shop/T2)" in r.stdout and "manager: Rosa (id rosa)" in r.stdout
        wrong = init_synced(tmp_path / "t3.toml", "T3", srv.url, token)
        assert wrong.returncode == 0 and "WARNING the token belongs to store shop device T2" in wrong.stdout
    finally:
        srv.stop()
    from caja_tui.application.users import authenticate
    from tests.conftest import make_store

    store = make_store(tmp_path / "t2.db", device_id="T2", store_id="shop")
    assert authenticate(store, "rosa", "2468").role == "manager"
    store.close()


def test_users_are_added_edited_and_deactivated_from_the_command_line(till):
    cfg = str(till)
    r = caja("--config", cfg, "users", "add", "--name", "Marta Ruiz", env={"CAJA_PIN": "4321"})
    assert r.returncode == 0 and "id marta-ruiz" in r.stdout, r.stderr
    bad = caja("--config", cfg, "users", "add", "--name", "Pedro", env={"CAJA_PIN": "12"})
    assert bad.returncode == 1 and bad.stderr.strip() == "caja: a PIN is 4 to 12 digits"
    promote = ("--config", cfg, "users", "edit", "marta-ruiz", "--role", "manager", "--pin")
    alone = caja(*promote, env={"CAJA_PIN": "9876"})  # the store has a manager: one of them must approve
    assert alone.returncode == 2 and "name one with --manager USER_ID" in alone.stderr, alone.stderr
    approved = caja(*promote, "--manager", "ana", env={"CAJA_PIN": "9876", "CAJA_MANAGER_PIN": "1234"})
    assert approved.returncode == 0, approved.stderr
    assert caja("--config", cfg, "users", "edit", "marta-ruiz", "--deactivate").returncode == 0
    listed = caja("--config", cfg, "users", "list").stdout
    assert "marta-ruiz" in listed and "manager  deactivated" in listed
    from caja_tui.application.users import authenticate
    from caja_tui.domain.errors import DomainError
    from tests.conftest import make_store

    store = make_store(till.parent / "caja.db", device_id="T09", store_id="demo")
    with pytest.raises(DomainError):
        authenticate(store, "marta-ruiz", "9876")  # deactivated: can no longer sign in
    store.close()
    missing = caja("--config", cfg, "users", "edit", "nobody", "--name", "X")
    assert missing.returncode == 1 and "there is no user 'nobody'" in missing.stderr


def test_manager_pin_digits_asks_managers_for_longer_pins(till):
    """Issue 15: `[till] manager_pin_digits = 6` refuses a 4-digit PIN for a new manager, not for a cashier."""
    till.write_text(till.read_text().replace("manager_pin_digits = 4", "manager_pin_digits = 6"))
    cfg = str(till)
    approve = {"CAJA_MANAGER_PIN": "1234"}  # Ana, the demo's manager
    add_bea = ("--config", cfg, "users", "add", "--name", "Bea", "--role", "manager", "--manager", "ana")
    short = caja(
        *add_bea,
        env={"CAJA_PIN": "4321", **approve},
    )
    assert short.returncode == 1 and "6" in short.stderr, short.stderr
    ok = caja(
        *add_bea,
        env={"CAJA_PIN": "654321", **approve},
    )
    assert ok.returncode == 0, ok.stderr
    cashier = caja("--config", cfg, "users", "add", "--name", "Tom", env={"CAJA_PIN": "4321"})
    assert cashier.returncode == 0, cashier.stderr


def english(cfg: Path) -> Path:
    """The till's config with `language = "en"` (a demo till is Spanish by default)."""
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('language = "es"', 'language = "en"'), encoding="utf-8")
    return cfg


def test_a_till_cannot_be_made_as_the_servers_own_device(tmp_path):
    """HQ signs the owners' edits in every store: `caja init --device HQ` is refused before anything is written."""
    cfg = tmp_path / "c.toml"
    r = caja("--config", str(cfg), "init", "--demo", "--store", "s1", "--device", "HQ")
    assert (
        r.returncode != 0 and "'HQ' is the server's own device" in r.stderr and "give this till another id" in r.stderr
    )
    assert "Traceback" not in r.stderr and not cfg.exists() and list(tmp_path.iterdir()) == []


def test_a_tills_commands_never_load_the_postgresql_driver(till):
    """Peewee imports PostgreSQL's driver when it is installed (the server extra): ~10 MB and ~80 ms of every till
    command's start for a database a till never opens."""
    probe = (
        "import sys; from caja_tui.cli import main; code = main(sys.argv[1:]); "
        "print('driver', sys.modules.get('psycopg') is not None, 'peewee' in sys.modules, code)"
    )
    for command in (["status"], ["verify"], ["settings"]):
        r = subprocess.run(
            [sys.executable, "-c", probe, "--config", str(till), *command],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )
        assert r.stdout.strip().endswith("driver False True 0"), (command, r.stdout[-300:], r.stderr[-300:])
