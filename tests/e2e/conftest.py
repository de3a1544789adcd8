import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server_proc import ServerProcess

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(tmp_path):
    """A real `caja serve` (gunicorn, SQLite) of the test's own, on 127.0.0.1."""
    srv = ServerProcess(str(tmp_path / "server.db"), workers=2).start()
    yield srv
    srv.stop()


def caja_at(cfg: Path):
    """The real `caja` of the till configured in `cfg`: `caja(*args)` runs `caja --config cfg *args`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def caja(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "caja_tui.cli", "--config", str(cfg), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    return caja


@pytest.fixture
def demo_till(server):
    """Make a demo till from the command line: `demo_till(cfg, device, url)` enrolls `device` of the store `demo` on
    the server, runs `caja init --demo` with that token (syncing with `url`: the server or a proxy in front of it) and
    returns the till's `caja` (a real process: `caja(*args)` runs `caja --config cfg *args`) and the token."""

    def make(cfg: Path, device: str, url: str):
        token = server.enroll("demo", device)
        caja = caja_at(cfg)
        init = ["init", "--demo", "--store", "demo", "--device", device, "--server", url, "--token", token]
        assert caja(*init).returncode == 0
        return caja, token

    return make
