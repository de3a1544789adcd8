"""The till's own figures (`caja bench`): the real `caja` in a pseudo-terminal of 80x24, as a cashier meets it.

startup_ms   process start to the sales screen ready (sign-in shown, PIN typed, status line drawn)
rss_mb       the process's peak resident memory (VmHWM) after the scans
scan_p99_ms  a barcode and Enter written to the terminal, to the product's line drawn
idle_cpu_pct CPU time over wall time while the sales screen sits idle with the status line live
"""

from __future__ import annotations

import fcntl
import os
import random
import re
import select
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from .data import generate_events, open_store, pct

_ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


class Terminal:
    """A child process on a pseudo-terminal; what it draws is read back as text without escape codes."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        import pty

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.seen = b""

    def read(self, timeout: float) -> bytes:
        ready, _w, _x = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return b""
        return _ANSI.sub(b"", data)

    def wait_for(self, text: str, timeout: float = 60.0) -> float:
        """Read until `text` is drawn (in output since the last wait); returns when, in seconds since start."""
        want, deadline = text.encode(), time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.seen += self.read(0.5)
            if want in self.seen:
                self.seen = b""
                return time.perf_counter() - self.t0
            if self.proc.poll() is not None:
                raise RuntimeError(f"the till exited ({self.proc.returncode}) before drawing {text!r}")
        raise RuntimeError(f"the till did not draw {text!r} within {timeout:.0f} s")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def drain(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.read(min(left, 0.5))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.type("\x11")  # ctrl+q
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.close(self.master)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def build_till(work: Path, n_events: int, n_products: int) -> Path:
    """A till file with a history of `n_events` over `n_products` products, a manager (PIN 1234) and an open
    session; returns its config file."""
    from ..application.users import create_user

    db = work / "tui.db"
    s = open_store(db)
    create_user(s, "system", name="Bench", role="manager", pin="1234", user_id="bench-manager")
    generate_events(s, n_events, n_products=n_products)
    s.checkpoint_wal("TRUNCATE")
    s.close()
    cfg = work / "tui.toml"
    cfg.write_text(
        f'[till]\nstore_id = "bench"\ndevice_id = "T01"\ndb = "{db}"\nlanguage = "en"\ncurrency = "MXN"\n',
        encoding="utf-8",
    )
    return cfg


def bench_tui(work: Path, *, n_events: int, n_products: int, scans: int, idle_s: float) -> dict:
    if not sys.platform.startswith("linux"):
        return {"tui_note": "startup_ms, rss_mb, scan_p99_ms and idle_cpu_pct are measured on Linux only"}
    n_products = min(n_products, max(1, n_events // 20))  # what generate_events makes of this history
    cfg = build_till(work, n_events, n_products)
    env = {**os.environ, "TERM": "linux", "COLUMNS": "80", "LINES": "24"}
    env.pop("TEXTUAL", None)
    term = Terminal([sys.executable, "-m", "caja_tui.cli", "--config", str(cfg)], env)
    try:
        signin_s = term.wait_for("sign in")
        term.type("1234\r")
        ready_s = term.wait_for("all saved on this till")  # the sales screen and its status line (no server)
        rnd = random.Random(5)
        # products made first are numbered 0..n-1 with barcode 750 + 10 digits; 5-digit numbers keep each
        # name from being a prefix of another
        low = 10_000 if n_products > 20_000 else 0
        picks = rnd.sample(range(low, n_products), min(scans, n_products - low))
        times = []
        term.drain(0.5)
        for n in picks:  # the 13 digits and Enter at once (faster than any scanner), 0.1 s apart
            t0 = time.perf_counter()
            term.type(f"750{n:010d}\r")
            term.wait_for(f"Product {n} ", timeout=20)
            times.append((time.perf_counter() - t0) * 1000)
            term.drain(0.1)
        term.drain(2.1 if idle_s >= 10 else 1.0)  # let the status line tick
        cpu0, wall0 = _cpu_seconds(term.proc.pid), time.monotonic()
        term.drain(idle_s)
        idle = (_cpu_seconds(term.proc.pid) - cpu0) / (time.monotonic() - wall0) * 100
        rss = _peak_rss_mb(term.proc.pid)
    finally:
        term.close()
    return {
        "startup_ms": round(ready_s * 1000),
        "signin_ready_ms": round(signin_s * 1000),
        "rss_mb": round(rss, 1),
        "scan_p50_ms": round(statistics.median(times), 1),
        "scan_p99_ms": round(pct(times, 99), 1),
        "idle_cpu_pct": round(idle, 2),
    }
