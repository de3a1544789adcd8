"""`caja install-service`: the units a person installs on a till or a server, written with this machine's
paths, and valid for systemd (checked with systemd-analyze where it is installed)."""

from __future__ import annotations

import configparser
import getpass
import shutil
import subprocess

import pytest

from tests.integration.test_cli import caja, init_synced


def _unit(path):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(path.read_text())
    return parser


def _systemd_accepts(path) -> None:
    if shutil.which("systemd-analyze"):
        r = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr


@pytest.fixture
def synced_till(tmp_path):
    cfg = tmp_path / "my till" / "caja.toml"  # a space in the path: quoted for systemd
    r = init_synced(cfg, "T1", "http://127.0.0.1:9", "caja_x")
    assert r.returncode == 0, r.stderr
    return cfg


def test_the_till_unit_owns_the_console_in_kiosk_mode_and_restarts(tmp_path, synced_till):
    root = tmp_path / "image"
    r = caja("--config", str(synced_till), "install-service", "till", "--tty", "tty1", "--root", str(root))
    assert r.returncode == 0, r.stderr
    path = root / "etc/systemd/system/caja-till-tty1.service"
    assert f"wrote {path}" in r.stdout and "systemctl daemon-reload && systemctl enable --now" in r.stdout
    unit = _unit(path)
    svc = unit["Service"]
    assert svc["ExecStart"].endswith(f'--config "{synced_till}" till --kiosk')
    assert svc["TTYPath"] == "/dev/tty1" and svc["StandardInput"] == "tty-force" and svc["Restart"] == "always"
    assert "TERM=linux" in path.read_text() and svc["User"] == getpass.getuser()
    assert unit["Unit"]["Conflicts"] == "getty@tty1.service"
    _systemd_accepts(path)


def test_the_sync_unit_waits_for_the_network_and_restarts_on_failure(tmp_path, synced_till):
    root = tmp_path / "image"
    assert caja("--config", str(synced_till), "install-service", "sync", "--root", str(root)).returncode == 0
    path = root / "etc/systemd/system/caja-sync.service"
    unit = _unit(path)
    assert unit["Unit"]["After"] == "network-online.target" and unit["Unit"]["Wants"] == "network-online.target"
    assert unit["Service"]["Restart"] == "on-failure" and unit["Service"]["ExecStart"].endswith(" sync")
    _systemd_accepts(path)
    offline = tmp_path / "offline.toml"
    assert caja("--config", str(offline), "init").returncode == 0
    refused = caja("--config", str(offline), "install-service", "sync", "--root", str(root))
    assert refused.returncode == 2 and "no [sync] server_url" in refused.stderr


def test_the_server_unit_runs_gunicorn_with_the_configured_workers(tmp_path):
    root = tmp_path / "image"
    r = caja(
        "install-service",
        "server",
        "--db",
        "postgresql://caja@localhost/caja",
        "--workers",
        "4",
        "--port",
        "9000",
        "--root",
        str(root),
    )
    assert r.returncode == 0, r.stderr
    path = root / "etc/systemd/system/caja-server.service"
    unit = _unit(path)
    assert unit["Service"]["ExecStart"].endswith(
        "serve --db postgresql://caja@localhost/caja --host 127.0.0.1 --port 9000 --workers 4"
    )
    assert "postgresql.service" in unit["Unit"]["After"]
    _systemd_accepts(path)


def test_the_server_unit_listens_on_loopback_unless_told_and_says_how_to_open_it(tmp_path):
    root = tmp_path / "image"
    path = root / "etc/systemd/system/caja-server.service"
    r = caja("install-service", "server", "--db", str(tmp_path / "s.db"), "--root", str(root))
    assert r.returncode == 0, r.stderr
    assert " --host 127.0.0.1 --port 8765 " in _unit(path)["Service"]["ExecStart"] + " "
    assert "this machine only" in r.stdout and "reverse proxy with TLS" in r.stdout and "--certfile" in r.stdout
    r = caja("install-service", "server", "--db", str(tmp_path / "s.db"), "--host", "0.0.0.0", "--root", str(root))
    assert r.returncode == 0, r.stderr
    assert " --host 0.0.0.0 " in _unit(path)["Service"]["ExecStart"]
    assert "over plain HTTP" in r.stdout and "--certfile CERT --keyfile KEY" in r.stdout


def test_the_ssh_snippet_lands_the_user_in_the_till(tmp_path, synced_till):
    root = tmp_path / "image"
    r = caja("--config", str(synced_till), "install-service", "ssh", "--user", getpass.getuser(), "--root", str(root))
    assert r.returncode == 0, r.stderr
    text = (root / "etc/ssh/sshd_config.d/caja-till.conf").read_text()
    assert f"Match User {getpass.getuser()}" in text and f'--config "{synced_till}" till' in text
    nobody = caja("--config", str(synced_till), "install-service", "ssh", "--user", "no-such-user-here")
    assert nobody.returncode == 2 and "there is no user 'no-such-user-here'" in nobody.stderr
