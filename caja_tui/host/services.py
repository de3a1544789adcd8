"""systemd units for a till, its sync service and the server, and the SSH forced command
(`caja install-service till|sync|server|ssh`).

The units are templates shipped in the package; installing renders one with this machine's paths into
`/etc/systemd/system` (or under `--root`, for an image being built or a test) and, with `--now`, enables
and starts it. Each unit runs in systemd's sandbox (`HARDENING`): the whole file system read-only but for the
folders it writes, the home folder read-only, no privileges to gain, no kernel settings to touch.
"""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from msgspec import Struct

from ..config import is_postgres

TILL = """\
# Caja till on {tty} in kiosk mode: owns the console, restarts whenever it exits (written by caja install-service)
[Unit]
Description=Caja till on {tty} (kiosk)
After=systemd-user-sessions.service plymouth-quit-wait.service
Conflicts=getty@{tty}.service
Before=getty.target

[Service]
Type=simple
User={user}
WorkingDirectory={home}
Environment=TERM=linux
Environment="CAJA_CONFIG={config_env}"
ExecStart={caja} --config {config} till --kiosk
StandardInput=tty-force
StandardOutput=tty
StandardError=journal
TTYPath=/dev/{tty}
TTYReset=yes
TTYVHangup=yes
TTYVTDisallocate=yes
UtmpIdentifier={tty}
Restart=always
RestartSec=1

{hardening}
[Install]
WantedBy=multi-user.target
"""

NETWORK_SERVICE = """\
# {comment} (written by caja install-service)
[Unit]
Description={description}
Wants=network-online.target
After=network-online.target{after}

[Service]
Type=simple
User={user}
WorkingDirectory={home}
{environment}ExecStart={exec_start}
Restart=on-failure
RestartSec=5
TimeoutStopSec={stop_s}

{hardening}
[Install]
WantedBy=multi-user.target
"""
"""A service that needs the network (the sync service, the server): waits for it, restarts on failure."""

HARDENING = """\
# The sandbox: every file read-only but the folders named in ReadWritePaths, the home folder too (login
# files and ~/.ssh kept out of reach when the database lives there), a private /tmp, no privileges to gain,
# no kernel settings, modules or logs to touch. `systemd-analyze security {unit}` rates it.
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
{paths}PrivateTmp=yes
UMask=0077
CapabilityBoundingSet=
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictNamespaces=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
PrivateMounts=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
RestrictAddressFamilies={families}
{extra}"""
"""What every unit gets (a system call outside the lists fails with EPERM rather than killing the till). Not
here, on purpose: MemoryDenyWriteExecute (Python's ctypes and cffi callbacks may need writable code pages),
PrivateUsers (the console's and printers' device groups), RemoveIPC (the till and its sync service share a user),
IPAddressDeny (tills and servers live on any network). The till on a console also goes without PrivateDevices,
ProtectClock and DeviceAllow (each one takes /dev/ttyN or the printer's device away)."""

LOGIN_FILES = (".bashrc", ".profile", ".bash_profile", ".bash_login", ".bash_logout", ".config", ".local/bin")
"""Files a login of the till's user runs: read-only even when the database's folder is the home folder."""

SSH = """\
# Caja: the user {user} lands in the till when they log in over SSH, whatever command they ask for, with or
# without a terminal (without one: the line-mode till). No forwarding of any kind, no ~/.ssh/rc.
# (written by caja install-service)
Match User {user}
    ForceCommand exec {caja} --config {config} till
    PermitTTY yes
    DisableForwarding yes
    AllowTcpForwarding no
    AllowStreamLocalForwarding no
    AllowAgentForwarding no
    X11Forwarding no
    PermitTunnel no
    PermitListen none
    PermitOpen none
    GatewayPorts no
    PermitUserRC no
"""


class Installed(Struct, frozen=True):
    path: Path
    unit: str | None  # the systemd unit to enable, if any
    text: str


def _q(value: str) -> str:
    """A value as systemd reads it on a command line: `%` doubled (systemd's specifiers), quoted when it has
    spaces or quotes."""
    value = value.replace("%", "%%")
    if any(c.isspace() or c in "\"'\\" for c in value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def caja_path() -> str:
    """The `caja` of this installation (its absolute path: systemd has no PATH of the user's)."""
    found = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name == "caja" else None
    if found and found.exists():
        return str(found)
    which = shutil.which("caja")
    return str(Path(which).resolve()) if which else f"{Path(sys.executable).parent / 'caja'}"


def _inside(path: str, folder: str) -> bool:
    return os.path.commonpath([os.path.abspath(path), os.path.abspath(folder)]) == os.path.abspath(folder)


def _hardening(unit: str, *, home: str, writable: tuple[str, ...], caja: str, console: bool, families: str) -> str:
    lines = [f"ReadWritePaths={' '.join(_q(p) for p in writable)}\n"] if writable else []
    # a writable folder that holds the home folder (the database beside ~/caja.toml): what a login runs stays
    # read-only, ~/.ssh out of reach, and so does caja's own venv when it lives there
    exposed = [w for w in writable if _inside(home, w)]
    if exposed:
        lines.append(f"InaccessiblePaths=-{_q(os.path.join(home, '.ssh'))}\n")
        kept = [os.path.join(home, name) for name in LOGIN_FILES]
        venv = str(Path(caja).parent.parent)
        if any(_inside(venv, w) for w in writable):
            kept.append(venv)
        lines.append(f"ReadOnlyPaths={' '.join('-' + _q(p) for p in kept)}\n")
    extra = "" if console else "PrivateDevices=yes\nProtectClock=yes\n"
    return HARDENING.format(unit=unit, paths="".join(lines), families=families, extra=extra)


def render(
    kind: str,
    *,
    user: str,
    home: str,
    config: str = "",
    tty: str = "tty1",
    db: str = "",
    host: str = "127.0.0.1",
    port: int = 8765,
    workers: int = 2,
    tls: tuple[str, str] | None = None,
    writable: tuple[str, ...] = (),
    caja: str | None = None,
) -> tuple[str, str]:
    """(file name, text) of one unit or snippet. `writable`: the folders the service writes (the till's
    database folder; the server's SQLite folder), the only ones it may."""
    caja = caja or caja_path()
    if kind == "ssh":
        return "caja-till.conf", SSH.format(user=user, config=shlex.quote(config), caja=shlex.quote(caja))
    config_env = config.replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
    plain_home = home
    exe, config, db, home = _q(caja), _q(config), _q(db), _q(home)
    till_families = "AF_UNIX AF_INET AF_INET6 AF_NETLINK"  # the server, the LAN peers (zeroconf), printers
    if kind == "till":
        name = f"caja-till-{tty}.service"
        hardening = _hardening(
            name, home=plain_home, writable=writable, caja=caja, console=True, families=till_families
        )
        return name, TILL.format(
            tty=tty, user=user, home=home, config=config, config_env=config_env, caja=exe, hardening=hardening
        )
    if kind == "sync":
        name = "caja-sync.service"
        return name, NETWORK_SERVICE.format(
            comment=f"Caja sync for the till of {config}: keeps syncing when nobody is signed in",
            description=f"Caja sync ({config})",
            after="",
            user=user,
            home=home,
            environment=f'Environment="CAJA_CONFIG={config_env}"\n',
            exec_start=f"{exe} --config {config} sync",
            stop_s=20,
            hardening=_hardening(
                name, home=plain_home, writable=writable, caja=caja, console=False, families=till_families
            ),
        )
    if kind == "server":
        name = "caja-server.service"
        after_db = " postgresql.service" if is_postgres(db) else ""
        tls_args = f" --certfile {_q(tls[0])} --keyfile {_q(tls[1])}" if tls else ""
        scheme = "https" if tls else "http"
        return name, NETWORK_SERVICE.format(
            comment="Caja sync server",
            description=f"Caja sync server on {scheme}://{host}:{port}",
            after=after_db,
            user=user,
            home=home,
            environment="",
            exec_start=f"{exe} serve --db {db} --host {host} --port {port} --workers {workers}{tls_args}",
            stop_s=30,
            hardening=_hardening(
                name, home=plain_home, writable=writable, caja=caja, console=False, families="AF_UNIX AF_INET AF_INET6"
            ),
        )
    raise ValueError(f"unknown service kind {kind}")


def exposure(host: str, port: int, *, tls: bool = False) -> str:
    """What to tell whoever installs the server about who can reach it, and how to open it to the tills safely."""
    if host in ("127.0.0.1", "::1", "localhost"):
        scheme = "https" if tls else "http"
        return (
            f"the server listens on {scheme}://{host}:{port}, this machine only. To reach it from the tills, put a "
            "reverse proxy with TLS in front (Caddy or nginx: README, 'The server on the internet'), or serve TLS "
            "itself: install-service server --host 0.0.0.0 --certfile CERT --keyfile KEY"
        )
    if tls:
        return (
            f'the server listens on https://{host}:{port}: the tills use server_url = "https://NAME:{port}" with the '
            "certificate's name (and [sync] ca_file for a certificate of your own CA); restart the server after "
            "renewing the certificate"
        )
    return (
        f"the server listens on {host}:{port} over plain HTTP: anyone on the way sees the tokens and the sales. "
        "Install it again with --certfile CERT --keyfile KEY (the tills then use https://), or keep it on "
        "127.0.0.1 behind a reverse proxy with TLS (README, 'The server on the internet')"
    )


def cannot(user: str, path: Path, *, write: bool = False) -> str | None:
    """Why `user` could not read (or write, for a folder) `path`, from the modes of the path and of every
    folder above it; None when they can. The service runs as that user: a check as root would prove nothing."""
    pw = pwd.getpwnam(user)
    if pw.pw_uid == 0:
        return None
    groups = {pw.pw_gid} | {g.gr_gid for g in grp.getgrall() if user in g.gr_mem}

    def allowed(st: os.stat_result, bits: tuple[int, int, int]) -> bool:
        if st.st_uid == pw.pw_uid:
            return bool(st.st_mode & bits[0])
        if st.st_gid in groups:
            return bool(st.st_mode & bits[1])
        return bool(st.st_mode & bits[2])

    path = Path(os.path.abspath(path))
    for folder in reversed(path.parents):
        st = folder.stat()
        if not allowed(st, (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)):
            return f"{user} cannot enter {folder} (owner {_owner(st)}, mode {stat.filemode(st.st_mode)})"
    st = path.stat()
    need = (stat.S_IWUSR, stat.S_IWGRP, stat.S_IWOTH) if write else (stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)
    if not allowed(st, need) or (write and not allowed(st, (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH))):
        what = "write in" if write else "read"
        return f"{user} cannot {what} {path} (owner {_owner(st)}, mode {stat.filemode(st.st_mode)})"
    return None


def _owner(st: os.stat_result) -> str:
    try:
        return pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        return str(st.st_uid)


def install(kind: str, root: Path, **kw) -> Installed:
    name, text = render(kind, **kw)
    folder = root / ("etc/ssh/sshd_config.d" if kind == "ssh" else "etc/systemd/system")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return Installed(path=path, unit=None if kind == "ssh" else name, text=text)


def enable_now(unit: str) -> None:
    """systemctl daemon-reload, then enable and start the unit (raises CalledProcessError with its output)."""
    for argv in (["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", unit]):
        subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60)
