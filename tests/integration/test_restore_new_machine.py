"""`caja restore` on a machine with no till (issue 15): it makes the config and the database from the flags and
the server, writes them for their owner alone, and a restore that fails leaves nothing a till would start on.
A real `caja serve` on 127.0.0.1, real `caja` processes; the lost till sold in line mode and synced."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faultproxy import FaultProxy
from tests.pg import free_port
from tests.server_proc import ServerProcess

ROOT = Path(__file__).resolve().parents[2]


def caja(cfg: Path, *args: str, token: str = "", input: str = "") -> subprocess.CompletedProcess:
    """The real `caja --config cfg ...`, the usual umask (022), no terminal, the token in $CAJA_TOKEN."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CAJA_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "caja_tui.cli", "--config", str(cfg), *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        umask=0o022,
    )


@pytest.fixture(scope="module")
def lost(tmp_path_factory):
    """A server, and a till T1 of the store `shop` that sold once (Luis, in line mode) and synced: (server, token)."""
    tmp = tmp_path_factory.mktemp("lost")
    srv = ServerProcess(str(tmp / "server.db"), workers=1).start()
    token = srv.enroll("shop", "T1")
    cfg = tmp / "t1.toml"
    init = caja(cfg, "init", "--demo", "--store", "shop", "--device", "T1", "--server", srv.url, token=token)
    assert init.returncode == 0, init.stderr
    sold = caja(cfg, "line", input="2\n0000\n500\n7500100100004\npay cash 50\nquit\n")
    assert "T1-000001" in sold.stdout, sold.stdout + sold.stderr
    assert caja(cfg, "sync", "--once").returncode == 0
    yield srv, token
    srv.stop()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_till_is_restored_on_a_machine_with_no_config_and_verifies(lost, tmp_path):
    srv, token = lost
    cfg = tmp_path / "new" / "t1.toml"  # the new SD card: no config, no database
    r = caja(cfg, "restore", "--server", srv.url, token=token)
    assert r.returncode == 0, r.stderr
    assert "restored 484 events (484 of this till, up to seq 484)" in r.stdout
    assert "--rekey" in r.stdout  # the lost till's key is still the server's: the way to the new one is said
    db, key = cfg.with_suffix(".db"), cfg.with_suffix(".key")
    assert (mode(cfg), mode(db), mode(key)) == (0o600, 0o600, 0o600)
    text = cfg.read_text()
    assert 'store_id = "shop"' in text and 'device_id = "T1"' in text and f'server_url = "{srv.url}"' in text
    assert f'token = "{token}"' in text  # taken from $CAJA_TOKEN, never from the command line
    assert sorted(p.name for p in cfg.parent.iterdir()) == ["t1.db", "t1.key", "t1.sync.lock", "t1.toml"]
    v = caja(cfg, "verify")
    assert v.returncode == 0 and v.stdout.startswith("ok: 484 events"), v.stdout + v.stderr
    sales = caja(cfg, "export", "sales").stdout.splitlines()
    assert len(sales) == 2 and sales[1].startswith("T1-000001,") and "cash:50.00" in sales[1]
    again = caja(cfg, "restore", token=token)  # the server and token now come from the config
    assert again.returncode == 1 and "already holds events; restore only fills an empty database" in again.stderr


def test_a_restore_that_cannot_start_writes_nothing(lost, tmp_path):
    srv, token = lost
    cfg = tmp_path / "new" / "t1.toml"
    down = caja(cfg, "restore", "--server", f"http://127.0.0.1:{free_port()}", token=token)
    assert down.returncode == 1 and "cannot reach the server at http://127.0.0.1:" in down.stderr
    wrong = caja(cfg, "restore", "--server", srv.url, token="caja_not_this_one")
    assert wrong.returncode == 1 and f"the server at {srv.url} refused the token" in wrong.stderr
    other = caja(cfg, "restore", "--server", srv.url, "--device", "T2", token=token)
    assert other.returncode == 2 and "the token belongs to device 'T1', not 'T2'" in other.stderr
    for r in (down, wrong, other):
        assert "nothing was written" in r.stderr and "Traceback" not in r.stderr
    assert not cfg.parent.exists()


class PullFails(FaultProxy):
    """The server answers who the token is, then fails every pull: a restore cut off after it began."""

    def _handle(self, h) -> None:
        self.forced = "error500" if h.path.startswith("/v1/events") else "pass"
        super()._handle(h)


def cut_off(cfg: Path, srv: ServerProcess, token: str) -> subprocess.CompletedProcess:
    """`caja restore` through a server whose pulls fail once the restore has begun."""
    proxy = PullFails(srv.port).start()
    try:
        return caja(cfg, "restore", "--server", proxy.url, token=token)
    finally:
        proxy.stop()


def test_a_restore_cut_off_leaves_no_till_and_the_next_one_goes_on(lost, tmp_path):
    srv, token = lost
    cfg = tmp_path / "t1.toml"
    cut = cut_off(cfg, srv, token)
    assert cut.returncode == 1 and "restore stopped: the server at" in cut.stderr, cut.stderr
    assert f"what arrived is kept in {tmp_path / '.t1.db.restoring'}, not at {tmp_path / 't1.db'}" in cut.stderr
    # no config, no database, no key: nothing here a till would start on; the history so far waits aside
    assert sorted(p.name for p in tmp_path.iterdir()) == [".t1.db.restoring", "t1.sync.lock"]
    done = caja(cfg, "restore", "--server", srv.url, token=token)
    assert done.returncode == 0 and "going on with the restore kept in" in done.stdout, done.stderr
    assert not (tmp_path / ".t1.db.restoring").exists()
    assert caja(cfg, "verify").stdout.startswith("ok: 484 events")


def test_an_empty_database_caja_init_made_is_filled_aside_and_comes_back_complete(lost, tmp_path):
    srv, token = lost
    cfg = tmp_path / "t1.toml"
    assert caja(cfg, "init", "--store", "shop", "--device", "T1").returncode == 0  # the README's way until now
    cut = cut_off(cfg, srv, token)
    assert cut.returncode == 1 and "restore stopped" in cut.stderr, cut.stderr
    assert not (tmp_path / "t1.db").exists()  # no till on half a history: `caja` says "no database"
    assert "no database at" in caja(cfg, "status").stderr
    done = caja(cfg, "restore", "--server", srv.url, token=token)
    assert done.returncode == 0 and "restored 484 events" in done.stdout, done.stderr
    assert (tmp_path / "t1.db").exists() and not (tmp_path / ".t1.db.restoring").exists()
