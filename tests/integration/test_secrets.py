"""The till's secrets on disk and on the command line (issue 15): the config (the sync token), the database
(the PIN hashes) and the device key are their owner's alone; a looser one is warned about at every start; the
token comes from a prompt, a file or $CAJA_TOKEN, and `caja token set` rotates it. Real files, real `caja`
processes, a real server where a token is checked."""

from __future__ import annotations

import os
import pty
import select
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from caja_tui.cli.tokens import with_token
from tests.server_proc import ServerProcess

ROOT = Path(__file__).resolve().parents[2]


def caja(*args, env=None, input=""):
    """The real `caja` in a process of its own, with the usual umask (022: what `caja init` must not rely on),
    no terminal, and `input` on its standard input."""
    return subprocess.run(
        [sys.executable, "-m", "caja_tui.cli", *args],
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=120,
        umask=0o022,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def server(tmp_path):
    srv = ServerProcess(str(tmp_path / "server.db"), workers=1).start()
    yield srv
    srv.stop()


def test_init_writes_the_config_database_and_key_for_their_owner_alone(tmp_path):
    cfg = tmp_path / "t1.toml"
    r = caja("--config", str(cfg), "init", "--demo", "--device", "T1", "--server", "http://127.0.0.1:9", "--token", "x")
    assert r.returncode == 0, r.stderr
    db, key = tmp_path / "t1.db", tmp_path / "t1.key"
    assert (mode(cfg), mode(db), mode(key)) == (0o600, 0o600, 0o600)
    conn = sqlite3.connect(db)  # a reader while the till writes: SQLite makes the -wal and -shm like the file
    conn.execute("INSERT INTO meta (key, value) VALUES ('probe', '1')")
    conn.commit()
    assert mode(tmp_path / "t1.db-wal") == 0o600 and mode(tmp_path / "t1.db-shm") == 0o600
    conn.close()
    assert "warning" not in r.stderr


def test_a_config_or_database_others_can_read_is_warned_about_at_every_start(tmp_path):
    cfg, db = tmp_path / "t1.toml", tmp_path / "t1.db"
    assert caja("--config", str(cfg), "init", "--demo").returncode == 0
    cfg.chmod(0o644)  # a copy from a backup, an installer's umask
    db.chmod(0o644)
    for command in (["status"], ["verify"]):
        r = caja("--config", str(cfg), *command)
        assert r.returncode == 0, r.stderr  # a warning, not an error
        assert f"caja: warning: {cfg} is open to other users of this machine (mode 644)" in r.stderr
        assert f"chmod 600 {cfg}\n" in r.stderr and f"{db} is open" in r.stderr and f"chmod 600 {db}" in r.stderr
    cfg.chmod(0o600)
    db.chmod(0o600)
    assert "warning" not in caja("--config", str(cfg), "status").stderr


def test_the_till_on_its_screens_writes_the_warning_in_its_log(tmp_path):
    cfg = tmp_path / "t1.toml"
    assert caja("--config", str(cfg), "init").returncode == 0
    cfg.chmod(0o640)
    log = tmp_path / "t1.tui.log"
    script = (  # what run_tui does before the screens: its log first, then the store
        "import sys; from caja_tui import config; from caja_tui.bootstrap import context; "
        "from caja_tui.host.logs import to_till_file; ctx = context(config.load(sys.argv[1])); "
        "to_till_file(ctx.paths.tui_log); ctx.open_store().close()"
    )
    r = subprocess.run(
        [sys.executable, "-c", script, str(cfg)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert r.returncode == 0 and r.stderr == "", r.stderr  # nothing drawn over the cashier's screen
    assert f"WARNING caja.files {cfg} is open to other users of this machine (mode 640)" in log.read_text()


@pytest.mark.parametrize("how", ["environment", "file", "stdin"])
def test_init_takes_the_token_from_the_environment_or_a_file_not_the_command_line(tmp_path, server, how):
    token = server.enroll("shop", "T1")
    secret = tmp_path / "token.txt"
    secret.write_text(token + "\n")
    argv = ["--config", str(tmp_path / "t1.toml"), "init", "--store", "shop", "--device", "T1", "--server", server.url]
    env, input = {}, ""
    if how == "environment":
        env = {"CAJA_TOKEN": token}
    elif how == "file":
        argv += ["--token-file", str(secret)]
    else:
        argv += ["--token-file", "-"]
        input = token + "\n"
    r = caja(*argv, env=env, input=input)
    assert r.returncode == 0, r.stderr
    assert token not in " ".join(argv)  # never in `ps` or the shell's history
    assert "knows this till (shop/T1)" in r.stdout
    assert f'token = "{token}"\n' in (tmp_path / "t1.toml").read_text()


def test_token_set_rotates_the_token_in_place_and_the_till_syncs_with_the_new_one(tmp_path, server):
    cfg = tmp_path / "t1.toml"
    old = server.enroll("shop", "T1")
    r = caja("--config", str(cfg), "init", "--demo", "--store", "shop", "--device", "T1", "--server", server.url,
             env={"CAJA_TOKEN": old})  # fmt: skip
    assert r.returncode == 0 and "knows this till" in r.stdout, r.stdout + r.stderr
    assert caja("--config", str(cfg), "sync", "--once").returncode == 0
    with cfg.open("a", encoding="utf-8") as fh:  # the installer's own notes stay
        fh.write("# till by the door; ask Rosa before changing it\n")
    before = cfg.read_text()
    new = server.enroll("shop", "T1")  # the old token stops working at once
    added = caja("--config", str(cfg), "users", "add", "--name", "Marta", env={"CAJA_PIN": "4321"})
    assert added.returncode == 0, added.stderr
    refused = caja("--config", str(cfg), "sync", "--once")
    assert refused.returncode == 1 and "401" in refused.stdout + refused.stderr
    r = caja("--config", str(cfg), "token", "set", env={"CAJA_TOKEN": new})
    assert r.returncode == 0, r.stderr
    assert "knows this till (shop/T1)" in r.stdout
    assert cfg.read_text() == before.replace(f'token = "{old}"', f'token = "{new}"') and old in before
    assert mode(cfg) == 0o600
    synced = caja("--config", str(cfg), "sync", "--once")
    assert synced.returncode == 0 and "pushed 1," in synced.stdout, synced.stdout + synced.stderr
    assert "pending 0" in caja("--config", str(cfg), "status").stdout


def test_token_set_asks_for_the_token_in_a_terminal_without_echoing_it(tmp_path):
    cfg = tmp_path / "t1.toml"
    assert caja("--config", str(cfg), "init").returncode == 0
    master, slave = pty.openpty()
    proc = subprocess.Popen(  # its own session: no controlling terminal but this one, as at a shop's console
        [sys.executable, "-m", "caja_tui.cli", "--config", str(cfg), "token", "set"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    os.close(slave)
    try:
        seen = _read_until(master, "not shown as you type")
        os.write(master, b"caja_typed-at-the-prompt\n")
        seen += _read_until(master, "")  # to the end
        assert proc.wait(timeout=30) == 0, seen
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert 'token = "caja_typed-at-the-prompt"' in cfg.read_text()
    assert "caja_typed" not in seen and "[sync] token replaced" in seen


def _read_until(fd: int, text: str, timeout: float = 30.0) -> str:
    """What the terminal shows until `text` appears (''): until the program closes it."""
    out, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline and not (text and text.encode() in out):
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the program closed the terminal
                break
            if not chunk:
                break
            out += chunk
    return out.decode(errors="replace")


def test_restore_takes_the_token_from_the_environment(tmp_path, server):
    token = server.enroll("shop", "T1")
    first = tmp_path / "dead" / "t1.toml"
    init = ["init", "--demo", "--store", "shop", "--device", "T1", "--server", server.url]
    assert caja("--config", str(first), *init, env={"CAJA_TOKEN": token}).returncode == 0
    assert caja("--config", str(first), "sync", "--once").returncode == 0
    fresh = tmp_path / "new" / "t1.toml"  # a new SD card: the till set up again, offline, then restored
    assert caja("--config", str(fresh), "init", "--store", "shop", "--device", "T1").returncode == 0
    r = caja("--config", str(fresh), "restore", "--server", server.url, env={"CAJA_TOKEN": token})
    assert r.returncode == 0, r.stderr
    assert "restored 482 events (482 of this till" in r.stdout


def test_the_token_line_is_rewritten_and_nothing_else():
    text = '# mine\r\n[till]\ntoken_note = 1\n[sync]\nserver_url = "u"\n  token = "old"  # rotated yearly\r\n[x]\n'
    assert with_token(text, "new") == text.replace('"old"', '"new"')
    assert with_token("[sync]\nserver_url = 'u'\n", "t") == "[sync]\ntoken = \"t\"\nserver_url = 'u'\n"
    assert with_token("[till]\nkiosk = true", "t") == '[till]\nkiosk = true\n\n[sync]\ntoken = "t"\n'
