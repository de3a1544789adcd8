"""`caja serve owners add|edit|list|remove`: passwords from a file or a prompt (never an argument), hashed with
scrypt; the stores an owner sees; a new password ends the owner's sessions."""

from __future__ import annotations

import json

import pytest

from caja_tui.cli import main
from caja_tui.server.hq import owners, sessions
from caja_tui.server.hq.models import HqOwner
from caja_tui.server.run import open_storage


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "server.db")


def caja(db, *args):
    return main(["serve", "owners", *args, "--db", db])


def test_owners_are_added_listed_edited_and_removed(db, tmp_path, capsys):
    secret = tmp_path / "pw"
    secret.write_text("a long enough password\n")
    assert caja(db, "add", "ana", "--stores", "s1,s2", "--password-file", str(secret)) == 0
    assert caja(db, "add", "ana", "--stores", "all", "--password-file", str(secret)) == 2  # exists already
    assert caja(db, "add", "bea", "--stores", "all", "--password-file", str(secret)) == 0
    capsys.readouterr()
    assert caja(db, "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == [
        {"name": "ana", "stores": ["s1", "s2"]},
        {"name": "bea", "stores": ["*"]},
    ]
    storage = open_storage(db)
    try:
        stored = HqOwner.get(HqOwner.name == "ana").pw_hash
        assert stored.startswith("scrypt$") and "a long enough password" not in stored
        assert owners.authenticate("ana", "a long enough password") == owners.Owner("ana", ("s1", "s2"))
        token, _ = sessions.start("ana")
        assert sessions.find(token) is not None
    finally:
        storage.close()
    secret.write_text("another long password\n")
    assert caja(db, "edit", "ana", "--stores", "s3", "--password-file", str(secret)) == 0
    storage = open_storage(db)
    try:
        assert sessions.find(token) is None  # a new password ends the sessions
        assert owners.authenticate("ana", "a long enough password") is None
        assert owners.authenticate("ana", "another long password").stores == ("s3",)
    finally:
        storage.close()
    assert caja(db, "remove", "ana") == 0 and caja(db, "remove", "ana") == 1


def test_a_short_password_a_bad_store_and_no_terminal_are_refused(db, tmp_path, capsys, monkeypatch):
    secret = tmp_path / "pw"
    secret.write_text("short\n")
    assert caja(db, "add", "ana", "--stores", "s1", "--password-file", str(secret)) == 2
    secret.write_text("a long enough password\n")
    assert caja(db, "add", "ana", "--stores", "bad store", "--password-file", str(secret)) == 2
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert caja(db, "add", "ana", "--stores", "s1") == 2
    err = capsys.readouterr().err
    assert "at least 10 characters" in err and "store 'bad store'" in err and "--password-file" in err
    with pytest.raises(SystemExit):
        caja(db, "add", "ana", "--stores", "s1", "--password", "x")  # there is no way to give it as an argument
