"""The forced command `caja install-service ssh` writes, tried against a real sshd: a throwaway one on a loopback
port with its own host key and its own config (laid out as Debian's: the snippets folder included first, then
permissive defaults), never the system's. The till's user logs in with a key and lands in the till, whatever
it asks for; nothing is forwarded."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from caja_tui.bench.peers import free_port
from tests.integration.test_cli import caja
from tests.integration.test_services import till_account

SSHD = "/usr/sbin/sshd"
pytestmark = pytest.mark.skipif(
    not (os.path.exists(SSHD) and shutil.which("ssh") and shutil.which("tmux")),
    reason="openssh-server and tmux are installed by `make test` (.ci/ensure-sshd, .ci/ensure-tmux)",
)

SSHD_CONFIG = """\
Include {snippets}/*.conf
ListenAddress 127.0.0.1:{port}
HostKey {dir}/host_key
PidFile none
UsePAM no
AllowUsers {user}
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes {strict}
AuthorizedKeysFile {keys}
PrintMotd no
PrintLastLog no
AcceptEnv LANG LC_*
X11Forwarding yes
AllowTcpForwarding yes
AllowAgentForwarding yes
PermitTunnel yes
Subsystem sftp internal-sftp
"""
"""Everything a stock sshd allows, allowed after the snippets: whatever the till's Match block says must win."""


def _hidden_from(user: str, paths: list[Path]) -> list[Path]:
    """The folders on the way to `paths` the user cannot enter (a Python installed under /root)."""
    pw = pwd.getpwnam(user)
    groups = set(os.getgrouplist(user, pw.pw_gid))
    hidden: list[Path] = []
    for path in paths:
        for folder in [*reversed(path.parents), path]:
            st = folder.stat()
            bit = 0o100 if st.st_uid == pw.pw_uid else 0o010 if st.st_gid in groups else 0o001
            if not st.st_mode & bit:
                if folder not in hidden:
                    hidden.append(folder)
                break
    return hidden


class Sshd:
    """A throwaway sshd for `user`. Run as root, in a mount namespace of its own where a folder the user cannot
    enter on the way to this venv's Python (e.g. /root) is a tmpfs holding only that Python: the till's user
    runs the `caja` of this checkout, and the real folders stay as they are."""

    def __init__(self, work: Path, user: str, home: Path, snippets: Path) -> None:
        self.work, self.user, self.home = work, user, home
        self.port = free_port()
        for name in ("host_key", "client_key"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / name)], check=True, timeout=30
            )
        root = os.geteuid() == 0
        keys = home / ".ssh/authorized_keys" if root else work / "authorized_keys"
        keys.parent.mkdir(mode=0o700, exist_ok=True)
        keys.write_text((work / "client_key.pub").read_text())
        keys.chmod(0o600)
        if root:
            pw = pwd.getpwnam(user)
            for p in (keys.parent, keys):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        (work / "sshd_config").write_text(
            SSHD_CONFIG.format(
                snippets=snippets,
                port=self.port,
                dir=work,
                user=user,
                strict="yes" if root else "no",  # unprivileged: its keys file is not in the real home
                keys=".ssh/authorized_keys" if root else keys,
            )
        )
        host = (work / "host_key.pub").read_text().split()
        (work / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host[0]} {host[1]}\n")
        self.log = work / "sshd.log"
        self.proc: subprocess.Popen | None = None

    def config_for_user(self) -> dict[str, str]:
        """What this sshd applies to a connection of the till's user (`sshd -T`: its own reading)."""
        r = subprocess.run(
            [SSHD, "-T", "-f", str(self.work / "sshd_config"), "-C", f"user={self.user},host=localhost,addr=127.0.0.1"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert r.returncode == 0, r.stderr
        return dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)

    def start(self) -> Sshd:
        argv = [SSHD, "-D", "-e", "-f", str(self.work / "sshd_config")]
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # the privilege separation folder sshd expects
            argv = self._namespaced(argv)
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while f"listening on 127.0.0.1 port {self.port}" not in self.log.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log_text = self.log.read_text()
                self.stop()
                if os.geteuid() != 0:
                    pytest.skip(f"an unprivileged sshd could not start here: {log_text.strip()[-300:]}")
                raise AssertionError(f"sshd did not start:\n{log_text}")
            time.sleep(0.05)
        return self

    def _namespaced(self, argv: list[str]) -> list[str]:
        needed = [Path(os.path.realpath(sys.base_prefix)), Path(sys.prefix), Path(__file__).resolve().parents[2]]
        hidden = _hidden_from(self.user, needed)
        if not hidden:
            return argv
        if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
            pytest.skip(f"{self.user} cannot enter {hidden[0]} on the way to this Python, and no mount namespace")
        lines = ["set -e"]
        for i, folder in enumerate(hidden):
            stash = self.work / f"stash{i}"
            stash.mkdir()
            lines += [f"mount --bind '{folder}' '{stash}'", f"mount -t tmpfs -o mode=0755,size=1m tmpfs '{folder}'"]
            for path in needed:
                if folder in path.parents:
                    rel = path.relative_to(folder)
                    lines += [f"mkdir -p '{path}'", f"mount --bind '{stash / rel}' '{path}'"]
        lines.append('exec "$@"')
        return ["unshare", "-m", "--propagation", "private", "sh", "-c", "\n".join(lines), "sh", *argv]

    def ssh(self, *options: str) -> list[str]:
        return [
            "ssh",
            "-F",
            "/dev/null",
            "-p",
            str(self.port),
            "-i",
            str(self.work / "client_key"),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            f"UserKnownHostsFile={self.work / 'known_hosts'}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "ConnectTimeout=10",
            *options,
            f"{self.user}@127.0.0.1",
        ]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def sshd(tmp_path):
    """A till (the demo catalog, in English) in the till user's home, the snippet `caja install-service ssh`
    writes for that user, and an sshd that includes it."""
    with till_account() as (user, home):
        cfg = home / "caja.toml"
        r = caja("--config", str(cfg), "init", "--demo")
        assert r.returncode == 0, r.stderr
        cfg.write_text(cfg.read_text().replace('language = "es"', 'language = "en"'))
        if os.geteuid() == 0:
            pw = pwd.getpwnam(user)
            for p in [home, *home.rglob("*")]:
                os.chown(p, pw.pw_uid, pw.pw_gid)
        image = tmp_path / "image"
        r = caja("--config", str(cfg), "install-service", "ssh", "--user", user, "--root", str(image))
        assert r.returncode == 0, r.stderr
        server = Sshd(tmp_path, user, home, image / "etc/ssh/sshd_config.d").start()
        try:
            yield server
        finally:
            server.stop()


def test_a_key_login_lands_in_the_till_and_sells(sshd, tmp_path):
    name, sock = f"ssh-{uuid.uuid4().hex[:8]}", str(tmp_path / "tmux.sock")
    command = "TERM=linux " + " ".join(sshd.ssh("-t"))

    def tmux(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-S", sock, *args], capture_output=True, text=True, timeout=10)

    def wait_for(text: str) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            shown = tmux("capture-pane", "-p", "-t", name).stdout
            if text in shown:
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{shown}\nsshd:\n{sshd.log.read_text()}")

    def keys(*typed: str) -> None:
        for key in typed:
            tmux("send-keys", "-t", name, key)
            time.sleep(0.05)

    tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "24", command)
    try:
        signin = wait_for("sign in")
        assert "Ana (manager)" in signin
        keys("1234", "Enter")
        wait_for("opening float")
        keys("500", "Enter")
        wait_for("session open")
        keys("7500100100004", "Enter")
        assert "TOTAL $32.90" in wait_for("Arroz 1 kg")
        keys("F5")
        wait_for("TO PAY $32.90")
        keys("c 50", "Enter")
        wait_for("CHANGE $17.10")
        keys("C-q")  # leaving the till ends the session: no shell behind it
        deadline = time.monotonic() + 15
        while tmux("has-session", "-t", name).returncode == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert tmux("has-session", "-t", name).returncode != 0
    finally:
        tmux("kill-server")
    db = sqlite3.connect(sshd.home / "caja.db")
    assert db.execute("SELECT receipt_no, total, change FROM sale").fetchall() == [("T01-000001", 3290, 1710)]
    assert (sshd.home / "caja.tui.log").stat().st_uid == pwd.getpwnam(sshd.user).pw_uid  # the till ran as its user


def test_a_command_or_sftp_gets_the_till_and_no_shell(sshd, tmp_path):
    typed = "echo SHELL-$((6*7))\nid\n"
    for argv in (sshd.ssh() + ["bash"], sshd.ssh() + ["echo SHELL-$((6*7)); id"], sshd.ssh("-T")):
        r = subprocess.run(argv, input=typed, capture_output=True, text=True, timeout=60)
        shown = r.stdout + r.stderr
        assert "Who are you?" in shown, (argv, shown)  # the till (line mode: there is no terminal)
        assert "SHELL-42" not in shown and "uid=" not in shown, (argv, shown)  # never a shell
    got = tmp_path / "copied.db"
    sftp = subprocess.run(
        [
            "sftp",
            "-b",
            "-",
            "-F",
            "/dev/null",
            "-P",
            str(sshd.port),
            "-i",
            str(sshd.work / "client_key"),
            "-o",
            "BatchMode=yes",
            "-o",
            f"UserKnownHostsFile={sshd.work / 'known_hosts'}",
            f"{sshd.user}@127.0.0.1",
        ],
        input=f"get caja.db {got}\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sftp.returncode != 0 and not got.exists()  # no file leaves through sftp


def _local_forward_is_refused(sshd: Sshd, target: socket.socket, where: str, kind: str) -> None:
    """`ssh -L` to `where` (host:port or a socket's path) on the till's side: the local end opens, sshd refuses
    the channel, and the target is never reached."""
    target.setblocking(False)
    local = free_port()
    client = subprocess.Popen(
        sshd.ssh("-T", "-L", f"127.0.0.1:{local}:{where}"),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:  # ssh opens the local end once logged in
            try:
                conn = socket.create_connection(("127.0.0.1", local), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline and client.poll() is None, "ssh -L never listened"
                time.sleep(0.05)
        with conn:
            assert conn.recv(100) == b""  # closed at once: sshd refused the channel
        with pytest.raises(BlockingIOError):
            target.accept()  # and never connected to the target
    finally:
        client.terminate()
        refused = client.communicate(timeout=20)[1]
    assert "open failed" in refused, refused
    assert f"refused {kind} port forward" in sshd.log.read_text()  # sshd's own word: by its config


def test_nothing_is_forwarded(sshd):
    with socket.create_server(("127.0.0.1", 0)) as target:  # a service on the till's side, by TCP
        _local_forward_is_refused(sshd, target, f"127.0.0.1:{target.getsockname()[1]}", "local")
    path = sshd.home / "service.sock"  # and by a local socket (a database's, docker's) the till's user can reach
    with socket.socket(socket.AF_UNIX) as target:
        target.bind(str(path))
        path.chmod(0o777)
        target.listen()
        _local_forward_is_refused(sshd, target, str(path), "streamlocal")
    r = subprocess.run(
        sshd.ssh("-T", "-o", "ExitOnForwardFailure=yes", "-R", "127.0.0.1:0:127.0.0.1:9"),
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0 and "remote port forwarding failed" in r.stderr
    x11 = subprocess.run(
        sshd.ssh("-T", "-X"), input="", capture_output=True, text=True, timeout=60, env={**os.environ, "DISPLAY": ":99"}
    )
    assert "X11 forwarding request failed" in x11.stderr
    applied = sshd.config_for_user()  # sshd's own reading of its config for the till's user
    assert applied["forcecommand"].startswith("exec ") and applied["forcecommand"].endswith(" till")
    for key, value in (
        ("allowagentforwarding", "no"),
        ("allowtcpforwarding", "no"),
        ("allowstreamlocalforwarding", "no"),
        ("x11forwarding", "no"),
        ("permittunnel", "no"),
        ("permituserrc", "no"),
        ("disableforwarding", "yes"),
    ):
        assert applied[key] == value, (key, applied[key])
