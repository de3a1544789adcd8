"""systemd units for a till, its sync service and the server, and the SSH forced command
(`caja install-service till|sync|server|ssh`).

The units are templates shipped in the package; installing renders one with this machine's paths into
`/etc/systemd/system` (or under `--root`, for an image being built or a test) and, with `--now`, enables
and starts it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from msgspec import Struct

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

[Install]
WantedBy=multi-user.target
"""
"""A service that needs the network (the sync service, the server): waits for it, restarts on failure."""


def _network_service(
    comment: str,
    description: str,
    exec_start: str,
    *,
    user: str,
    home: str,
    stop_s: int,
    environment: str = "",
    after: str = "",
) -> str:
    return NETWORK_SERVICE.format(
        comment=comment,
        description=description,
        after=after,
        user=user,
        home=home,
        environment=environment,
        exec_start=exec_start,
        stop_s=stop_s,
    )


SSH = """\
# Caja: the user {user} lands in the till when they log in over SSH (written by caja install-service)
Match User {user}
    ForceCommand {caja} --config {config} till
    PermitTTY yes
    AllowTcpForwarding no
    X11Forwarding no
"""


class Installed(Struct, frozen=True):
    path: Path
    unit: str | None  # the systemd unit to enable, if any
    text: str


def _q(value: str) -> str:
    """A path as systemd reads it on a command line: quoted when it has spaces or quotes."""
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
    caja: str | None = None,
) -> tuple[str, str]:
    """(file name, text) of one unit or snippet."""
    config_env = config.replace("\\", "\\\\").replace('"', '\\"')
    caja, config, db, home = _q(caja or caja_path()), _q(config), _q(db), _q(home)
    if kind == "till":
        return f"caja-till-{tty}.service", TILL.format(
            tty=tty, user=user, home=home, config=config, config_env=config_env, caja=caja
        )
    if kind == "sync":
        return "caja-sync.service", _network_service(
            f"Caja sync for the till of {config}: keeps syncing when nobody is signed in",
            f"Caja sync ({config})",
            f"{caja} --config {config} sync",
            user=user,
            home=home,
            stop_s=20,
            environment=f'Environment="CAJA_CONFIG={config_env}"\n',
        )
    if kind == "server":
        after_db = " postgresql.service" if db.startswith(("postgresql://", "postgres://")) else ""
        return "caja-server.service", _network_service(
            "Caja sync server",
            f"Caja sync server on {host}:{port}",
            f"{caja} serve --db {db} --host {host} --port {port} --workers {workers}",
            user=user,
            home=home,
            stop_s=30,
            after=after_db,
        )
    if kind == "ssh":
        return "caja-till.conf", SSH.format(user=user, config=config, caja=caja)
    raise ValueError(f"unknown service kind {kind}")


def exposure(host: str, port: int) -> str:
    """What to tell whoever installs the server about who can reach it, and how to open it to the tills safely."""
    if host in ("127.0.0.1", "::1", "localhost"):
        return (
            f"the server listens on {host}:{port}, this machine only. To reach it from the tills, put a reverse "
            "proxy with TLS in front (Caddy or nginx: README, 'The server on the internet'), or serve TLS "
            "itself: --host 0.0.0.0, and --certfile/--keyfile added to its ExecStart"
        )
    return (
        f"the server listens on {host}:{port} over plain HTTP: anyone on the way sees the tokens and the sales. "
        "Add --certfile CERT --keyfile KEY to its ExecStart (the tills then use https://), or keep it on "
        "127.0.0.1 behind a reverse proxy with TLS (README, 'The server on the internet')"
    )


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
