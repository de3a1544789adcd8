"""A throwaway PostgreSQL cluster, for the test suite and for `caja bench` (never for production).

PostgreSQL refuses to run as root, so as root the cluster runs as the unprivileged user `nobody`.
.ci/ensure-postgres installs PostgreSQL when it is missing; without it the server tests fail (they are
never skipped) and the benchmark reports the PostgreSQL figure as not measured.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or (
        [shutil.which(name)] if shutil.which(name) else []
    )
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} is not installed: run `bash .ci/ensure-postgres` (apt-get install postgresql)"
        )
    return found[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self) -> None:
        self.base = tempfile.mkdtemp(prefix="caja-pg-")
        os.chmod(self.base, 0o755)
        self.data = os.path.join(self.base, "data")
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.user = "nobody" if self.as_root else None

    def _run(self, argv: list[str]) -> None:
        if self.as_root:
            argv = ["runuser", "-u", "nobody", "--", *argv]
        subprocess.run(argv, check=True, capture_output=True, timeout=120)

    def start(self) -> Cluster:
        os.mkdir(self.data, 0o700)
        if self.as_root:
            shutil.chown(self.data, "nobody")
        self._run([_bin("initdb"), "-D", self.data, "-U", "caja", "--auth=trust", "-E", "UTF8", "--no-sync"])
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.data} "
            "-c fsync=off -c max_connections=200 -c shared_buffers=64MB"
        )
        self._run(
            [
                _bin("pg_ctl"),
                "-D",
                self.data,
                "-o",
                opts,
                "-l",
                os.path.join(self.data, "log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        return self

    def stop(self) -> None:
        try:
            self._run([_bin("pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop"])
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://caja@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        for attempt in range(20):
            try:
                with psycopg.connect(self.url(), autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                return self.url(name)
            except psycopg.OperationalError:
                if attempt == 19:
                    raise
                time.sleep(0.2)
        raise AssertionError("unreachable")
