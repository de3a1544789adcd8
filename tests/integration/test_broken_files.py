"""A database file the till cannot use (issue 15): damaged, another program's SQLite file, not SQLite at all, or
empty. Every entry point says so in one line naming the file and the way out (a restore from the server or the
backup), exits 1, and leaves the file as it was; an empty file is never taken as a new till."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3

import pytest

from tests.integration import test_cli
from tests.integration.test_cli import caja

till = test_cli.till  # the demo till of the command-line tests (device T09)


def corrupt(db):
    """Junk bytes over the middle of a real till's database (its WAL checkpointed into it first)."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(db.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64 * 1024] = b"\xde\xad\xbe\xef" * (16 * 1024)
    db.write_bytes(bytes(data))


def foreign(db):
    db.unlink()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE recipes (name TEXT, steps TEXT)")
    conn.execute("INSERT INTO recipes VALUES ('flan', 'eggs, milk, sugar')")
    conn.commit()
    conn.close()


BREAKS = {
    "damaged": (corrupt, "is damaged or is not a Caja database"),
    "foreign": (foreign, "a SQLite file of another program (its tables: recipes;"),
    "text": (lambda db: db.write_text("shopping list: eggs, milk\n" * 50), "not even a SQLite file"),
    "empty": (lambda db: db.write_bytes(b""), "is an empty file (0 bytes)"),
}


@pytest.mark.parametrize("kind", BREAKS)
def test_a_database_the_till_cannot_use_gets_one_clear_line_from_every_command(till, kind):
    db = till.parent / "caja.db"
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    breaks, says = BREAKS[kind]
    breaks(db)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    text = till.read_text()
    assert 'server_url = ""' in text
    till.write_text(text.replace('server_url = ""', 'server_url = "http://127.0.0.1:9"'))  # nobody answers there
    # a damaged page is found before a till sells (and by verify, status); `caja sync` meets it when it reads it
    commands = [["verify"], ["line"], ["status"]] + ([["sync", "--once"]] if kind != "damaged" else [])
    for command in commands:
        r = caja("--config", str(till), *command, input="2\n0000\n")
        assert r.returncode == 1, (command, r.stdout, r.stderr)
        assert says in r.stderr and str(db) in r.stderr, (command, r.stderr)
        way_out = "restore" in r.stderr and ".backup" in r.stderr
        assert way_out or (kind == "empty" and "delete it" in r.stderr), (command, r.stderr)
        assert "Traceback" not in r.stderr + r.stdout and "unexpected error" not in r.stderr
        assert r.stderr.strip().count("\n") == 0, r.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # left as it was, for whoever looks at it


def test_an_empty_file_is_not_made_a_new_till_by_init_but_a_missing_one_is(tmp_path):
    cfg = tmp_path / "caja.toml"
    (tmp_path / "caja.db").write_bytes(b"")
    r = caja("--config", str(cfg), "init", "--device", "T01")
    assert r.returncode == 1 and "is an empty file (0 bytes)" in r.stderr and "delete it" in r.stderr, r.stderr
    assert (tmp_path / "caja.db").stat().st_size == 0
    (tmp_path / "caja.db").unlink()
    r = caja("--config", str(cfg), "init", "--device", "T01")
    assert r.returncode == 0, r.stderr
    v = caja("--config", str(cfg), "verify")
    assert v.returncode == 0 and v.stdout.startswith("ok:"), v.stdout + v.stderr


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.parametrize("kind", ["damaged", "empty"])
def test_the_screens_refuse_a_database_they_cannot_use_with_the_same_line(till, tmp_path, kind):
    """`caja till` in a real terminal (tmux): the line, exit 1, no traceback, before any screen is drawn."""
    from tests.tui.test_terminal import CAJA, Tmux

    db = till.parent / "caja.db"
    breaks, says = BREAKS[kind]
    breaks(db)
    term = Tmux(tmp_path, f"{CAJA} --config {till} till; echo EXIT=$?; sleep 60")
    try:
        term.wait_for("EXIT=")
        shown = term._tmux("capture-pane", "-p", "-J", "-t", term.name)
        assert says in shown and str(db) in shown and "EXIT=1" in shown, shown
        assert "Traceback" not in shown and "unexpected error" not in shown
    finally:
        term.kill()


def _junk_over_a_page_of(db, table: str) -> None:
    """Junk over one leaf page of `table` (its WAL checkpointed into the file first), found through dbstat."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    page = conn.execute(
        "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno DESC LIMIT 1", (table,)
    ).fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    data[(page - 1) * size + 8 : page * size] = b"\xde\xad\xbe\xef" * ((size - 8) // 4)
    db.write_bytes(bytes(data))


def test_a_big_database_is_checked_at_start_in_what_selling_needs_and_verify_reads_it_all(till, monkeypatch):
    """A database over FULL_CHECK_BYTES (years of history: 2.7 GB at a million events, seconds to read on a Pi)
    is checked at start only in the tables a sale needs, so the till starts at once; damage in the history is
    found by `caja verify`. A small one is checked whole."""
    from caja_tui.store import errors
    from caja_tui.store.sqlite import SqliteStore

    db = till.parent / "caja.db"
    _junk_over_a_page_of(db, "event")  # the history

    def start_check() -> str | None:
        store = SqliteStore(db, store_id="demo", device_id="T09")
        try:
            errors.check_pages(store)
            return None
        except errors.BrokenDatabase as exc:
            return str(exc)
        finally:
            store.close()

    assert "is damaged" in (start_check() or "")  # small: checked whole
    monkeypatch.setattr(errors, "FULL_CHECK_BYTES", 0)  # as if it were big
    assert start_check() is None  # the till starts; the damaged history is not read at start
    r = caja("--config", str(till), "verify")
    assert r.returncode == 1 and "is damaged" in r.stderr and str(db) in r.stderr, r.stdout + r.stderr
    _junk_over_a_page_of(db, "product")  # what a sale needs
    assert "is damaged" in (start_check() or "")
