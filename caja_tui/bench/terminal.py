"""The till's own figures (`caja bench`): the real `caja` in a pseudo-terminal of 80x24, as a cashier meets it.

startup_ms   process start to the sales screen ready (sign-in shown, PIN typed, status line drawn)
rss_mb       the process's peak resident memory (VmHWM) after the scans
scan_p99_ms  a barcode and Enter written to the terminal, to the product's line drawn
idle_cpu_pct CPU time over wall time of the till AND its `caja sync` child while the sales screen sits idle,
             in a second run of the till with a local server configured, after a sale (pushed), a draft save
             with nothing pending and a `caja rebuild` (each changes the file's data_version, which the sync
             loop watches: a loop that stops sleeping shows here)

The package is compiled to bytecode first, as an installed till finds it (pip compiles it; a till run from a
checkout writes it at its first start, unless PYTHONDONTWRITEBYTECODE is set): otherwise every start would compile
the till's ~180 modules again (~100 ms here), which no till in a shop does.

A `Launch` starts the till's processes another way (`caja bench --pi-class`: in a cgroup with a CPU quota, fsync
slowed) and checks that they were.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .data import generate_events, open_store, pct

_ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


@dataclass(frozen=True)
class Launch:
    """How the till (and so its sync child) is started: `preexec` runs in the child before the program (into a
    cgroup), `env` is added to its environment, and `check(pid)` raises unless a process is where it should be."""

    preexec: Callable[[], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[int], None] = lambda pid: None


class Terminal:
    """A child process on a pseudo-terminal; what it draws is read back as text without escape codes."""

    def __init__(self, argv: list[str], env: dict[str, str], preexec: Callable[[], None] | None = None) -> None:
        import pty

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True, preexec_fn=preexec
        )
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
                self.proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                self.type("y")  # "A sale is in progress. Quit the till?" (the cart is kept)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.close(self.master)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int, field: str = "VmHWM") -> float:
    """The process's peak resident memory (VmHWM), or with field="VmRSS" what it holds now, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def build_till(work: Path, n_events: int, n_products: int) -> Path:
    """A till file with a history of `n_events` over `n_products` products, a manager (PIN 1234) and an open
    session; returns its config file."""
    from ..application.users import create_user
    from ..store.outbox import Outbox

    db = work / "tui.db"
    s = open_store(db)
    create_user(s, "system", name="Bench", role="manager", pin="1234", user_id="bench-manager")
    generate_events(s, n_events, n_products=n_products)
    Outbox(s).mark_all_synced()  # as if on the server: a sync child started beside the till has no backlog
    s.checkpoint_wal("TRUNCATE")
    s.close()
    cfg = work / "tui.toml"
    cfg.write_text(
        f'[till]\nstore_id = "bench"\ndevice_id = "T01"\ndb = "{db}"\nlanguage = "en"\ncurrency = "MXN"\n',
        encoding="utf-8",
    )
    return cfg


def bench_tui(
    work: Path,
    *,
    n_events: int,
    n_products: int,
    scans: int,
    idle_s: float,
    breakdown: bool = False,
    launch: Launch | None = None,
) -> dict:
    """The till's figures; `breakdown` adds the idle CPU of the till and of its sync child apart. With `launch`,
    the till a run without it left in `work` is measured again (its draft cart emptied), started that way."""
    if not sys.platform.startswith("linux"):
        return {"tui_note": "startup_ms, rss_mb, scan_p99_ms and idle_cpu_pct are measured on Linux only"}
    n_products = min(n_products, max(1, n_events // 20))  # what generate_events makes of this history
    launch = launch or Launch()
    _compiled()
    cfg = _reused_till(work) if launch.preexec and (work / "tui.toml").exists() else None
    cfg = cfg or build_till(work, n_events, n_products)
    term = Terminal([sys.executable, "-m", "caja_tui.cli", "--config", str(cfg)], _env(launch), launch.preexec)
    try:
        signin_s = term.wait_for("sign in")
        launch.check(term.proc.pid)
        term.type("1234\r")
        ready_s = term.wait_for("all saved on this till")  # the sales screen and its status line (no server)
        rnd = random.Random(5)
        times = []
        term.drain(0.5)
        for n in _picks(rnd, n_products, scans):  # the 13 digits and Enter at once (faster than any scanner)
            t0 = time.perf_counter()
            term.type(f"750{n:010d}\r")
            term.wait_for(f"Product {n} ", timeout=20)
            times.append((time.perf_counter() - t0) * 1000)
            term.drain(0.1)  # 0.1 s apart
        rss, rss_now = _peak_rss_mb(term.proc.pid), _peak_rss_mb(term.proc.pid, "VmRSS")
    finally:
        term.close()
    out = {
        "startup_ms": round(ready_s * 1000),
        "signin_ready_ms": round(signin_s * 1000),
        "rss_mb": round(rss, 1),
        "rss_after_scans_mb": round(rss_now, 1),  # the peak includes the PIN check's scrypt buffer (20 MiB), freed
        "scan_p50_ms": round(statistics.median(times), 1),
        "scan_p99_ms": round(pct(times, 99), 1),
    }
    try:
        import falcon  # noqa: F401 - the server extra: the idle run syncs with a local `caja serve`
    except ImportError:
        return {**out, "idle_cpu_pct": None, "tui_note": "idle_cpu_pct needs the server extra (caja[server])"}
    idle = idle_with_sync(work, cfg, n_products, idle_s, launch)
    out["idle_cpu_pct"] = round(idle["till"] + idle["sync"], 2)
    if breakdown:
        out.update(idle_cpu_till_pct=round(idle["till"], 2), idle_cpu_sync_pct=round(idle["sync"], 2))
    return out


def _compiled() -> None:
    """The till's modules compiled to bytecode beside their sources (where it can write; quietly where not)."""
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parents[1]), quiet=2)


def _reused_till(work: Path) -> Path:
    """The till an earlier run built in `work`, its draft cart emptied (as build_till leaves it)."""
    from ..application.sales import save_cart
    from ..domain.cart import Cart

    store = open_store(work / "tui.db")
    try:
        save_cart(store, Cart())
    finally:
        store.close()
    return work / "tui.toml"


def _env(launch: Launch | None = None) -> dict[str, str]:
    """The till's environment: the Linux console's terminal, 80x24 (and what `launch` adds)."""
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL"}
    return {**env, "TERM": "linux", "COLUMNS": "80", "LINES": "24", **(launch.env if launch else {})}


def _picks(rnd: random.Random, n_products: int, scans: int) -> list[int]:
    """Products made first are numbered 0..n-1 with barcode 750 + 10 digits; 5-digit numbers keep each name
    from being a prefix of another."""
    low = 10_000 if n_products > 20_000 else 0
    return rnd.sample(range(low, n_products), min(scans, n_products - low))


def idle_with_sync(
    work: Path, cfg: Path, n_products: int, idle_s: float, launch: Launch | None = None
) -> dict[str, float]:
    """The till run again with a local server configured (so it starts `caja sync` beside itself): a sale,
    pushed; a scan (the draft saved with nothing pending); a `caja rebuild`; then the CPU of the till and of its
    sync child over `idle_s` seconds on the sales screen, in % of one core. The cart the first run left is set
    aside meanwhile and put back after. A second run in `work` uses the same server file and token."""
    from ..application.sales import save_cart
    from ..domain.cart import Cart
    from ..server.devcluster import free_port
    from .server import serve

    launch = launch or Launch()
    port, server_db, synced = free_port(), str(work / "tui-server.db"), work / "tui-sync.toml"
    server = serve(server_db, port)
    synced.write_text(
        cfg.read_text(encoding="utf-8")
        + f'\n[sync]\nserver_url = "http://127.0.0.1:{port}"\ntoken = "{_token(work, server_db)}"\n'
        + "batch_seconds = 1.0\n",
        encoding="utf-8",
    )
    store = open_store(work / "tui.db")
    kept = store.load_draft() or Cart()
    save_cart(store, Cart())
    term = Terminal([sys.executable, "-m", "caja_tui.cli", "--config", str(synced)], _env(launch), launch.preexec)
    pids: list[int] = []
    try:
        term.wait_for("sign in")
        term.type("1234\r")
        term.wait_for("not synced")  # the sales screen, with a server
        _sell_save_and_rebuild(term, store, synced, n_products)
        term.drain(2.1 if idle_s >= 10 else 1.0)  # let the status line tick and the sync loop settle
        pids = _children(term.proc.pid)
        if not pids:
            raise RuntimeError("the till started no sync child (is a sync service already running for it?)")
        for pid in (term.proc.pid, *pids):
            launch.check(pid)
        till0, sync0, wall0 = _cpu_seconds(term.proc.pid), sum(map(_cpu_seconds, pids)), time.monotonic()
        term.drain(idle_s)
        wall = time.monotonic() - wall0
        till = (_cpu_seconds(term.proc.pid) - till0) / wall * 100
        sync = (sum(map(_cpu_seconds, pids)) - sync0) / wall * 100
    finally:
        term.close()  # the till stops its sync child; one left behind (the till was killed) is stopped here
        _stop_left_behind(pids)
        server.terminate()
        server.wait(timeout=30)
        save_cart(store, kept)
        store.close()
    return {"till": till, "sync": sync}


def _token(work: Path, server_db: str) -> str:
    """The till's token on the bench's server: enrolled once, kept in `work` for a second run."""
    from .server import enroll

    kept = work / "tui-token"
    if not kept.exists():
        kept.write_text(enroll(server_db, "bench", "T01"), encoding="utf-8")
    return kept.read_text(encoding="utf-8")


def _sell_save_and_rebuild(term: Terminal, store, cfg: Path, n_products: int) -> None:
    """A sale (F5, Enter: exact cash) that the sync child pushes; one scan more, the draft saved while nothing
    is pending; then `caja rebuild` from another process. Each leaves nothing pending for the sync loop."""
    from ..sync.metrics import saved

    _wait_until(lambda: saved(store).get("connectivity") == "online", "the sync child to reach the server")
    n, m = _picks(random.Random(7), n_products, 2)
    newest = store.newest_event_time()
    term.type(f"750{n:010d}\r")
    term.wait_for(f"Product {n} ", timeout=20)
    term.type("\x1b[15~")  # F5: pay
    term.wait_for("TO PAY")
    term.type("\r")  # Enter alone: exact cash
    _wait_until(lambda: store.newest_event_time() > newest, "the sale to be written")
    _wait_until(lambda: store.count_unsynced() == 0, "the sync child to push the sale")
    term.type(f"750{m:010d}\r")  # the draft cart saved, nothing pending
    term.wait_for(f"Product {m} ", timeout=20)
    rebuild = [sys.executable, "-m", "caja_tui.cli", "--config", str(cfg), "rebuild"]
    subprocess.run(rebuild, check=True, capture_output=True, timeout=3600)


def _wait_until(done, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.05)


def _stop_left_behind(pids: list[int]) -> None:
    """SIGTERM, then SIGKILL after 10 s, to those of `pids` still running `caja sync` (not a pid reused since)."""

    def running() -> list[int]:
        left = []
        for pid in pids:
            with contextlib.suppress(OSError):
                if b"sync" in Path(f"/proc/{pid}/cmdline").read_bytes():  # empty once it exited (a zombie)
                    left.append(pid)
        return left

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in running():
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while running() and time.monotonic() < deadline:
            time.sleep(0.1)


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (the till's `caja sync`)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            found.append(int(stat.parent.name))
    return found
