"""`caja install-service`: the units a person installs on a till or a server, written with this machine's
paths, and valid for systemd (checked with systemd-analyze where it is installed)."""

from __future__ import annotations

import configparser
import contextlib
import getpass
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.test_cli import caja, init_synced


@contextlib.contextmanager
def till_account():
    """(user, home) of an unprivileged account for the till: as root (CI), a throwaway one made here with a
    home of its own under /tmp and removed after; otherwise the account running the tests, with a scratch
    folder as its 'home' (the installer refuses to run the till as root)."""
    if os.geteuid() != 0:
        with tempfile.TemporaryDirectory(prefix="caja-home-") as home:
            yield getpass.getuser(), Path(home)
        return
    user = f"cajat{uuid.uuid4().hex[:8]}"
    home = Path(tempfile.mkdtemp(prefix=f"{user}-", dir="/tmp"))
    # '*': no password, yet not a locked account (sshd without PAM turns locked accounts away, keys or not)
    subprocess.run(
        ["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/bash", "--password", "*", user],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pw = pwd.getpwnam(user)
    try:
        os.chown(home, pw.pw_uid, pw.pw_gid)
        home.chmod(0o755)
        yield user, home
    finally:
        _sessions_ended(pw.pw_uid)
        if subprocess.run(["userdel", user], capture_output=True, timeout=60).returncode != 0:
            subprocess.run(["userdel", "--force", user], capture_output=True, timeout=60)  # a session still ending
        shutil.rmtree(home, ignore_errors=True)


def _sessions_ended(uid: int) -> None:
    """Wait for the account's processes (a till whose SSH session just closed) to end, then end any left, by
    their ids: none of them may write into the home after it is removed."""
    import signal

    def running() -> list[int]:
        pids = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                uids = next(line for line in status.read_text().splitlines() if line.startswith("Uid:"))
            except (OSError, StopIteration):
                continue
            if int(uids.split()[1]) == uid:
                pids.append(int(status.parent.name))
        return pids

    deadline = time.monotonic() + 10
    while running() and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in running():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def own(user: str, *paths: Path) -> None:
    """Give the till's files to its user, as the installer would (a no-op when the tests are not root)."""
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam(user)
    for path in paths:
        for p in [path, *(path.rglob("*") if path.is_dir() else ())]:
            os.chown(p, pw.pw_uid, pw.pw_gid)


@pytest.fixture
def account():
    with till_account() as found:
        yield found


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
def synced_till(account):
    user, home = account
    cfg = home / "my till 100%" / "caja.toml"  # a space and a %: quoted for systemd, and % doubled (its specifiers)
    r = init_synced(cfg, "T1", "http://127.0.0.1:9", "caja_x")
    assert r.returncode == 0, r.stderr
    own(user, cfg.parent)
    return cfg


def test_the_till_unit_owns_the_console_in_kiosk_mode_and_restarts(tmp_path, account, synced_till):
    root = tmp_path / "image"
    r = caja(
        "--config",
        str(synced_till),
        "install-service",
        "till",
        "--user",
        account[0],
        "--tty",
        "tty1",
        "--root",
        str(root),
    )
    assert r.returncode == 0, r.stderr
    path = root / "etc/systemd/system/caja-till-tty1.service"
    assert f"wrote {path}" in r.stdout and "systemctl daemon-reload && systemctl enable --now" in r.stdout
    unit = _unit(path)
    svc = unit["Service"]
    as_systemd_reads_it = str(synced_till).replace("%", "%%")
    assert svc["ExecStart"].endswith(f'--config "{as_systemd_reads_it}" till --kiosk')
    assert svc["TTYPath"] == "/dev/tty1" and svc["StandardInput"] == "tty-force" and svc["Restart"] == "always"
    assert "TERM=linux" in path.read_text() and svc["User"] == account[0]
    assert unit["Unit"]["Conflicts"] == "getty@tty1.service"
    _systemd_accepts(path)


def test_the_sync_unit_waits_for_the_network_and_restarts_on_failure(tmp_path, account, synced_till):
    root = tmp_path / "image"
    r = caja("--config", str(synced_till), "install-service", "sync", "--user", account[0], "--root", str(root))
    assert r.returncode == 0, r.stderr
    path = root / "etc/systemd/system/caja-sync.service"
    unit = _unit(path)
    assert unit["Unit"]["After"] == "network-online.target" and unit["Unit"]["Wants"] == "network-online.target"
    assert unit["Service"]["Restart"] == "on-failure" and unit["Service"]["ExecStart"].endswith(" sync")
    _systemd_accepts(path)
    offline = account[1] / "offline.toml"
    assert caja("--config", str(offline), "init").returncode == 0
    own(account[0], account[1])
    refused = caja("--config", str(offline), "install-service", "sync", "--user", account[0], "--root", str(root))
    assert refused.returncode == 2 and "no [sync] server_url" in refused.stderr


def test_the_server_unit_runs_gunicorn_with_the_configured_workers(tmp_path, account):
    root = tmp_path / "image"
    r = caja(
        "install-service",
        "server",
        "--user",
        account[0],
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
    # the one folder it writes: where `caja serve` keeps the key it signs owners' edits with (the HQ key)
    assert unit["Service"]["ReadWritePaths"].strip("'\"") == str(account[1] / ".local/share/caja")
    _systemd_accepts(path)


def test_the_server_unit_listens_on_loopback_unless_told_and_says_how_to_open_it(tmp_path, account):
    root = tmp_path / "image"
    path = root / "etc/systemd/system/caja-server.service"
    db = str(account[1] / "s.db")
    r = caja("install-service", "server", "--user", account[0], "--db", db, "--root", str(root))
    assert r.returncode == 0, r.stderr
    assert " --host 127.0.0.1 --port 8765 " in _unit(path)["Service"]["ExecStart"] + " "
    assert "this machine only" in r.stdout and "reverse proxy with TLS" in r.stdout and "--certfile" in r.stdout
    r = caja("install-service", "server", "--user", account[0], "--db", db, "--host", "0.0.0.0", "--root", str(root))
    assert r.returncode == 0, r.stderr
    assert " --host 0.0.0.0 " in _unit(path)["Service"]["ExecStart"]
    assert "over plain HTTP" in r.stdout and "--certfile CERT --keyfile KEY" in r.stdout


def test_the_ssh_snippet_lands_the_user_in_the_till(tmp_path, account, synced_till):
    root = tmp_path / "image"
    r = caja("--config", str(synced_till), "install-service", "ssh", "--user", account[0], "--root", str(root))
    assert r.returncode == 0, r.stderr
    text = (root / "etc/ssh/sshd_config.d/caja-till.conf").read_text()
    assert f"Match User {account[0]}" in text and f"--config '{synced_till}' till" in text
    nobody = caja("--config", str(synced_till), "install-service", "ssh", "--user", "no-such-user-here")
    assert nobody.returncode == 2 and "there is no user 'no-such-user-here'" in nobody.stderr


def test_the_server_unit_serves_https_with_the_certificate_given(tmp_path, account):
    import shlex
    import signal

    import requests

    from caja_tui.bench.peers import free_port
    from tests.certs import make_pki

    user, home = account
    pki = make_pki(home / "tls")
    own(user, home)
    root, port = tmp_path / "image", free_port()
    cert_args = ("--certfile", str(pki.cert), "--keyfile", str(pki.key))
    r = caja(
        "install-service", "server", "--user", user, "--db", str(home / "s.db"), "--host", "0.0.0.0",
        "--port", str(port), "--workers", "1", *cert_args, "--root", str(root),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"listens on https://0.0.0.0:{port}" in r.stdout and "plain HTTP" not in r.stdout
    path = root / "etc/systemd/system/caja-server.service"
    argv = shlex.split(_unit(path)["Service"]["ExecStart"])
    assert argv[-4:] == list(cert_args)
    _systemd_accepts(path)
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:  # the unit's own command line serves https with that certificate
        deadline, answer = time.monotonic() + 30, None
        while answer is None:
            assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()
            try:
                answer = requests.get(f"https://127.0.0.1:{port}/v1/health", timeout=2, verify=str(pki.ca))
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answer.status_code == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    half = caja("install-service", "server", "--user", user, "--certfile", str(pki.cert), "--root", str(root))
    assert half.returncode == 2 and "--certfile and --keyfile go together" in half.stderr
    if os.geteuid() == 0:  # a key only root can read: the service, run as the user, could not
        os.chown(pki.key, 0, 0)
        locked = caja("install-service", "server", "--user", user, *cert_args, "--root", str(root))
        assert locked.returncode == 2 and f"{user} cannot read {pki.key}" in locked.stderr


def test_install_service_refuses_what_makes_no_sense_for_its_kind(tmp_path, account, synced_till):
    user, home = account
    root = str(tmp_path / "image")

    def refused(*args: str) -> str:
        r = caja("--config", str(synced_till), "install-service", *args)
        assert r.returncode == 2 and not (tmp_path / "image").exists(), (args, r.stdout, r.stderr)
        return r.stderr

    assert "--tty /dev/tty1: not a console" in refused("till", "--user", user, "--tty", "/dev/tty1", "--root", root)
    assert "--db, --port: only for install-service server, not till" in refused(
        "till", "--user", user, "--db", "x.db", "--port", "1", "--root", root
    )
    assert "--tty: only for install-service till, not sync" in refused("sync", "--user", user, "--tty", "tty2")
    assert "an SSH snippet is not a service" in refused("ssh", "--user", user, "--now")
    assert "--root writes into an image" in refused("till", "--user", user, "--now", "--root", root)
    assert "--port 0: a port is 1 to 65535" in refused("server", "--user", user, "--port", "0", "--root", root)
    assert "run the till's side as root" in refused("ssh", "--user", "root", "--root", root)
    assert "runs the server as root" in refused("server", "--user", "root", "--root", root)
    nologin = refused("ssh", "--user", "nobody", "--root", root)  # sshd runs the forced command through its shell
    assert "nobody's login shell is /usr/sbin/nologin" in nologin and "chsh -s /bin/bash nobody" in nologin
    assert "PrivateTmp" in refused("server", "--user", user, "--db", "/tmp/caja-test-server.db", "--print")
    if os.geteuid() == 0:  # root's own folder: the till's user cannot even enter it
        mine = tmp_path / "root's till" / "caja.toml"
        assert caja("--config", str(mine), "init").returncode == 0
        r = caja("--config", str(mine), "install-service", "till", "--user", user, "--root", root)
        assert r.returncode == 2 and f"{user} cannot enter /tmp/" in r.stderr and "chown" in r.stderr


def test_the_server_database_defaults_to_the_services_user_home(tmp_path, account):
    user, home = account
    r = caja("install-service", "server", "--user", user, "--root", str(tmp_path / "image"))
    assert r.returncode == 0, r.stderr
    unit = _unit(tmp_path / "image/etc/systemd/system/caja-server.service")["Service"]
    folder = home / ".local/share/caja"
    assert f" --db {folder}/server.db " in unit["ExecStart"] and unit["ReadWritePaths"] == str(folder)
    assert f"install -d -o {user} -m 700 {folder}" in r.stdout  # the sandbox could not make it itself
