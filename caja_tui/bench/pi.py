"""`caja bench --pi-class`: the till-side figures again, inside a CPU budget like a Raspberry Pi 4's, on slow storage.

An approximation, not a Pi: the till in its pseudo-terminal and its `caja sync` child (and the checkout and PIN
measures, in a child process of their own) run in a cgroup of their own with a CPU quota of one core at 25 %
(2.5 ms every 10 ms: cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`), pinned to one CPU
(`sched_setaffinity`), with every fsync and fdatasync slowed to 20 ms by a small LD_PRELOAD shim
(`slow_fsync.c`, built with `cc` into the scratch folder at bench time). A Pi 4's core is about a quarter of
this machine's; its memory, caches and SD card differ in ways a quota does not model.

pi_startup_ms        startup_ms in the budget (process start, sign-in, PIN, sales screen drawn)
pi_scan_p99_ms       scan_p99_ms in the budget, fsync slowed
pi_checkout_p99_ms   checkout_p99_ms in the budget, fsync slowed (a completed sale's one durable commit included)
pi_idle_cpu_pct      idle CPU of the till and its sync child, in % of the budget (of the Pi-like core: 25 % of one
                     core here is 100 %)
pi_pin_check_ms      one PIN check (`domain.pins.verify_pin`, the scrypt hash of sign-in) in the budget, median

Needs root (it makes a cgroup); refuses, saying why and what to do, otherwise. The cgroup is removed afterwards,
also on an error or Ctrl-C; one left by a killed run is removed by the next.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

QUOTA_US, PERIOD_US = 2_500, 10_000  # one core at 25 %, the 10 ms period of issue 14
FSYNC_DELAY_MS = 20  # an SD card's fsync (5-50 ms, spikes beyond)
PREFIX = "caja-bench-pi-"
GOALS = {
    "pi_startup_ms": "<= 2000",
    "pi_scan_p99_ms": "<= 60 (fsync slowed to 20 ms)",
    "pi_checkout_p99_ms": "<= 20 (fsync slowed to 20 ms)",
    "pi_idle_cpu_pct": "<= 2 (till + sync child, in % of the budget: of the Pi-like core)",
    "pi_pin_check_ms": "<= 250",
}


class PiClassRefused(Exception):
    """--pi-class cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class Budget:
    """A cgroup of this run with the CPU quota, and the CPU its processes are pinned to."""

    path: Path
    version: int  # 1 or 2
    cpu: int

    @property
    def method(self) -> str:
        quota = (
            f"cgroup v2 cpu.max '{QUOTA_US} {PERIOD_US}'"
            if self.version == 2
            else f"cgroup v1 cpu.cfs_quota_us={QUOTA_US} cpu.cfs_period_us={PERIOD_US}"
        )
        return f"{quota} ({self.path}); pinned to CPU {self.cpu} with sched_setaffinity"

    def enter(self) -> None:
        """Run in a child before it starts the program (Popen's preexec_fn): into the cgroup, onto the one CPU.
        What it starts (the till's sync child) inherits both."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))
        os.sched_setaffinity(0, {self.cpu})

    def check(self, pid: int) -> None:
        """Raises unless `pid` is in the cgroup and pinned: a figure taken outside the budget is never reported."""
        if pid not in self.pids() or os.sched_getaffinity(pid) != {self.cpu}:
            raise RuntimeError(f"process {pid} is not in the Pi-class budget ({self.path})")

    def pids(self) -> set[int]:
        return {int(p) for p in (self.path / "cgroup.procs").read_text().split()}

    def quota(self) -> str:
        if self.version == 2:
            return (self.path / "cpu.max").read_text().strip()
        return " ".join((self.path / f).read_text().strip() for f in ("cpu.cfs_quota_us", "cpu.cfs_period_us"))

    def throttled(self) -> int:
        """How many periods the quota held the cgroup's processes back (cpu.stat), so far."""
        for line in (self.path / "cpu.stat").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "nr_throttled":
                return int(value)
        return 0


def _cpu_hierarchy() -> tuple[int, Path]:
    """Where the cpu controller is mounted: (2, the cgroup2 mount) when it has cpu, else (1, the v1 cpu mount)."""
    v1 = v2 = None
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        fstype, options = fields[fields.index("-") + 1], fields[-1].split(",")
        if fstype == "cgroup2" and v2 is None:
            v2 = Path(fields[4])
        elif fstype == "cgroup" and "cpu" in options:
            v1 = Path(fields[4])
    if v2 is not None and "cpu" in (v2 / "cgroup.controllers").read_text().split():
        return 2, v2
    if v1 is not None:
        return 1, v1
    raise PiClassRefused(
        "caja bench --pi-class: no cgroup with the cpu controller is mounted here (cgroup v2 with 'cpu' in "
        "cgroup.controllers, or a v1 'cpu' hierarchy), so the CPU budget cannot be set. Run it on a host with "
        "cgroups, or in a container given its own writable cgroup."
    )


def refusal() -> str | None:
    """Why --pi-class cannot run here (None: it can try). Looks only; makes nothing."""
    if os.geteuid() != 0:
        return (
            "caja bench --pi-class needs root: it makes a cgroup with a CPU quota (25 % of one core) for the till. "
            "Run it as root, e.g. `sudo caja bench --pi-class --json`, or run the normal `caja bench` on the "
            "device itself."
        )
    if not sys.platform.startswith("linux"):
        return "caja bench --pi-class runs on Linux only (cgroups)."
    try:
        _cpu_hierarchy()
    except PiClassRefused as e:
        return str(e)
    return None


def _make(version: int, root: Path) -> Path:
    """This run's cgroup under `root`, with the quota set; PiClassRefused when the hierarchy is not writable."""
    _remove_stale(root)
    path = root / f"{PREFIX}{os.getpid()}"
    try:
        if version == 2 and "cpu" not in (root / "cgroup.subtree_control").read_text().split():
            (root / "cgroup.subtree_control").write_text("+cpu")
        path.mkdir()
        if version == 2:
            (path / "cpu.max").write_text(f"{QUOTA_US} {PERIOD_US}")
        else:
            (path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (path / "cpu.cfs_quota_us").write_text(str(QUOTA_US))
    except OSError as e:
        with contextlib.suppress(OSError):
            path.rmdir()
        raise PiClassRefused(
            f"caja bench --pi-class: the cgroup {root} is not writable ({e.strerror or e}), even as root, so the "
            "CPU budget cannot be set. In a container, run it on the host or give the container a writable cgroup "
            "(e.g. docker run --privileged --cgroupns=private); or run the normal `caja bench` on the device itself."
        ) from e
    return path


def _remove_stale(root: Path) -> None:
    """Empty cgroups left by a run that was killed outright (its pid is gone)."""
    for old in root.glob(f"{PREFIX}*"):
        pid = old.name.removeprefix(PREFIX)
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            with contextlib.suppress(OSError):
                old.rmdir()


def _remove(budget: Budget) -> None:
    """Stop what is still in the cgroup (only this run's processes are ever put there), then remove it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        deadline = time.monotonic() + 5
        while (left := _pids_or_none(budget)) and time.monotonic() < deadline:
            for pid in left:
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)
            time.sleep(0.1)
    for _ in range(50):
        try:
            budget.path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)
    print(f"caja bench: could not remove the cgroup {budget.path}; remove it with rmdir", file=sys.stderr)


def _pids_or_none(budget: Budget) -> set[int]:
    try:
        return budget.pids()
    except OSError:
        return set()


@contextlib.contextmanager
def pi_budget() -> Iterator[Budget]:
    """The cgroup for this run, removed on the way out whatever happens (SIGTERM is turned into an exit too)."""
    if why := refusal():
        raise PiClassRefused(why)
    version, root = _cpu_hierarchy()
    budget = Budget(_make(version, root), version, max(os.sched_getaffinity(0)))
    before = signal.getsignal(signal.SIGTERM)

    def stop(_signum, _frame):
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield budget
    finally:
        signal.signal(signal.SIGTERM, before)
        _remove(budget)


# --- slow storage -------------------------------------------------------------------------------------------


def build_shim(work: Path) -> tuple[Path | None, str]:
    """The LD_PRELOAD shim built into `work` and checked (one fsync through it takes >= 20 ms): (its path, how),
    or (None, why not)."""
    source = Path(__file__).with_name("slow_fsync.c")
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return None, "not run: no C compiler (cc) to build the fsync shim (apt-get install gcc)"
    if not source.exists():
        return None, f"not run: {source.name} is missing from this installation of caja"
    shim = work / "slow_fsync.so"
    built = subprocess.run(
        [cc, "-shared", "-fPIC", "-O2", "-o", str(shim), str(source), "-ldl"], capture_output=True, text=True
    )
    if built.returncode != 0:
        return None, f"not run: {cc} could not build the fsync shim: {built.stderr.strip()[-300:]}"
    ms = timed_fsync(work, shim_env(shim))
    if ms is None or ms < FSYNC_DELAY_MS:
        return None, f"not run: the fsync shim did not slow fsync here (one took {ms} ms)"
    return shim, f"LD_PRELOAD shim slow_fsync.c built with {cc}; each fsync and fdatasync takes >= {FSYNC_DELAY_MS} ms"


def shim_env(shim: Path) -> dict[str, str]:
    preload = " ".join(p for p in (str(shim), os.environ.get("LD_PRELOAD", "")) if p)
    return {"LD_PRELOAD": preload, "CAJA_FSYNC_DELAY_MS": str(FSYNC_DELAY_MS)}


_FSYNC_ONCE = (
    "import os, sys, time; fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT); os.write(fd, b'x'); "
    "t = time.perf_counter(); os.fsync(fd); print((time.perf_counter() - t) * 1000)"
)


def timed_fsync(work: Path, env: dict[str, str], preexec=None) -> float | None:
    """One fsync of a file in `work`, by a child process with `env` added: its milliseconds (None: it failed)."""
    r = subprocess.run(
        [sys.executable, "-c", _FSYNC_ONCE, str(work / "fsync-probe")],
        env={**os.environ, **env},
        preexec_fn=preexec,
        capture_output=True,
        text=True,
    )
    return round(float(r.stdout), 1) if r.returncode == 0 else None


# --- the figures --------------------------------------------------------------------------------------------

_CHILD = "import sys; from caja_tui.bench.pi import budget_child; budget_child(sys.argv[1], int(sys.argv[2]))"


def budget_child(workdir: str, n_sales: int, pin_checks: int = 5) -> None:
    """Run in the budget: the PIN check of sign-in (median of `pin_checks`), then `n_sales` checkouts (the normal
    bench's, bench/store.py); prints their figures as JSON."""
    from statistics import median

    from ..domain.pins import hash_pin, verify_pin
    from .store import bench_checkout

    stored, times = hash_pin("1234"), []
    for _ in range(pin_checks):
        t0 = time.perf_counter()
        if not verify_pin("1234", stored):
            raise SystemExit("the PIN did not verify")
        times.append((time.perf_counter() - t0) * 1000)
    checkout = bench_checkout(Path(workdir), n_sales)
    print(json.dumps({"pin_check_ms": round(median(times), 1), **checkout}))


def bench_pi(work: Path, budget: Budget, *, tui: tuple, n_sales: int) -> dict:
    """The pi_* figures and the `pi_class` object. `tui` is the normal bench's (events, products, scans, idle s);
    the till the normal run built in `work` is measured again when it is there."""
    from .terminal import Launch, bench_tui

    t0 = time.perf_counter()
    here = Path(tempfile.mkdtemp(prefix="pi-", dir=work))  # its own files, whatever ran in `work` before
    shim, storage = build_shim(here)
    env = shim_env(shim) if shim else {}
    fsync_ms = timed_fsync(here, env, budget.enter) if shim else None
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(here), str(n_sales)],
        env={**os.environ, **env},
        preexec_fn=budget.enter,
        capture_output=True,
        text=True,
    )
    if child.returncode != 0:
        raise RuntimeError(f"the Pi-class checkout child failed: {child.stderr.strip()[-500:]}")
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    events, products, scans, idle_s = tui
    till = bench_tui(
        work,
        n_events=events,
        n_products=products,
        scans=scans,
        idle_s=idle_s,
        breakdown=True,
        launch=Launch(preexec=budget.enter, env=env, check=budget.check),
    )
    share = QUOTA_US / PERIOD_US
    slow = shim is not None  # scans and checkouts count only when taken on slowed storage
    out = {
        "pi_startup_ms": till.get("startup_ms"),
        "pi_signin_ready_ms": till.get("signin_ready_ms"),
        "pi_scan_p50_ms": till.get("scan_p50_ms") if slow else None,
        "pi_scan_p99_ms": till.get("scan_p99_ms") if slow else None,
        "pi_checkout_p50_ms": measured["checkout_p50_ms"] if slow else None,
        "pi_checkout_p99_ms": measured["checkout_p99_ms"] if slow else None,
        "pi_pin_check_ms": measured["pin_check_ms"],
    }
    if till.get("idle_cpu_pct") is not None:
        out["pi_idle_cpu_pct"] = round(till["idle_cpu_pct"] / share, 2)
        out["pi_idle_cpu_till_pct"] = round(till["idle_cpu_till_pct"] / share, 2)
        out["pi_idle_cpu_sync_pct"] = round(till["idle_cpu_sync_pct"] / share, 2)
    out["pi_class"] = {**_described(budget, storage, fsync_ms, n_sales), "seconds": round(time.perf_counter() - t0, 1)}
    return out


def _described(budget: Budget, storage: str, fsync_ms: float | None, n_sales: int) -> dict:
    import platform

    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}: an approximation of a "
        "Raspberry Pi 4, not one",
        "budget": f"one core at {QUOTA_US * 100 // PERIOD_US} % ({QUOTA_US} us of CPU every {PERIOD_US} us)",
        "period_us": PERIOD_US,
        "quota_us": QUOTA_US,
        "quota_as_set": budget.quota(),
        "cpu": budget.cpu,
        "method": budget.method,
        "in_budget": "the till in its pseudo-terminal, its caja sync child, and the checkout and PIN child; each "
        "checked in the cgroup and pinned while measured",
        "throttled_periods": budget.throttled(),
        "fsync_delay_ms": FSYNC_DELAY_MS if fsync_ms is not None else None,
        "fsync_measured_ms": fsync_ms,
        "slow_storage": storage,
        "idle_cpu_unit": "pi_idle_cpu_pct is in % of the budget (25 % of one core here is 100 %: about a Pi 4 core)",
        "checkout_sales": n_sales,
        "goals": "in the goals of the JSON (pi_*)",
    }
