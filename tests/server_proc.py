"""Run the real `caja serve` (gunicorn) as a separate process on 127.0.0.1 for the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.pg import free_port

ROOT = Path(__file__).resolve().parents[1]


class ServerProcess:
    def __init__(
        self,
        db: str,
        *,
        workers: int = 2,
        rate: float = 0,
        burst: int = 100,
        log: Path | None = None,
        extra: tuple[str, ...] = (),
        tls: tuple[Path, Path, Path] | None = None,
    ) -> None:
        """`tls`: (certificate, key, the CA that signed it): serve https with gunicorn's own TLS (and check its
        health with that CA)."""
        self.db = db
        self.port = free_port()
        self.workers = workers
        self.rate = rate
        self.burst = burst
        self.log = log
        self.extra = extra
        self.tls = tls
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def caja(self, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.run(
            [sys.executable, "-m", "caja_tui.cli", "serve", "--db", self.db, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    def enroll(self, store: str, device: str) -> str:
        r = self.caja("enroll", "--store", store, "--device", device)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip().splitlines()[-1]

    def start(self) -> ServerProcess:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        argv = [
            sys.executable,
            "-m",
            "caja_tui.cli",
            "serve",
            "--db",
            self.db,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--rate",
            str(self.rate),
            "--burst",
            str(self.burst),
            *self.extra,
        ]
        if self.tls:
            argv += ["--certfile", str(self.tls[0]), "--keyfile", str(self.tls[1])]
        if self.log is None:
            self.log = Path(tempfile.mkdtemp(prefix="caja-serve-")) / "server.jsonl"
        argv += ["--log", str(self.log)]
        if "--hq-key" not in self.extra and "://" in self.db:  # PostgreSQL: the HQ key beside the log, not in ~
            argv += ["--hq-key", str(self.log.with_suffix(".hq.key"))]
        # gunicorn's own messages go to a file too: a pipe nobody reads would block the server when full
        self.stderr_path = self.log.with_suffix(".stderr")
        # its own process group: a stop (or a SIGKILL in `make chaos`) takes gunicorn's workers down with it
        self.proc = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=self.stderr_path.open("ab"), start_new_session=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"caja serve exited: {self.stderr_path.read_text()}")
            try:
                verify = str(self.tls[2]) if self.tls else True
                if requests.get(self.url + "/v1/health", timeout=1, verify=verify).status_code == 200:
                    return self
            except requests.exceptions.SSLError as exc:
                if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                    return self  # it answers, with a certificate its CA does not vouch for (the tests of that)
                time.sleep(0.1)
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("caja serve did not answer within 30 s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGTERM, or `sig`: SIGKILL for a crash), workers included, and wait until its
        port is free, so that `start()` can bring it back on the same port at once."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _listening(self.port):
            time.sleep(0.1)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0
