"""`caja bench --pi-class`: the till-side figures in a cgroup with a CPU quota, on fsyncs slowed to 20 ms. These
check the machinery is real (the processes measured are in the cgroup, pinned; an fsync through the shim waits;
the cgroup is gone afterwards, also after Ctrl-C), and that it refuses clearly where it cannot run. How fast is
for `caja bench` on the user's machine, never asserted here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from caja_tui.bench.pi import FSYNC_DELAY_MS, Budget, bench_pi, build_shim, pi_budget, refusal, shim_env, timed_fsync

CAJA = [sys.executable, "-m", "caja_tui.cli", "bench", "--pi-class", "--quick", "--json"]
can_run = pytest.mark.skipif(
    not sys.platform.startswith("linux") or refusal() is not None,
    reason=f"--pi-class cannot run here: {refusal()}",
)


def test_without_root_it_refuses_saying_why_and_what_to_do(tmp_path):
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) is needed to run as another user")
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    else:
        as_nobody = []
    r = subprocess.run(
        [*as_nobody, *CAJA, "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        env={**os.environ, "HOME": str(tmp_path)},
        timeout=60,
    )
    assert r.returncode == 2 and r.stdout == ""
    assert "needs root" in r.stderr and "sudo caja bench --pi-class" in r.stderr


@can_run
def test_the_budget_holds_the_processes_it_starts_and_is_removed_even_after_ctrl_c(tmp_path):
    probe = "import os; print(open('/proc/self/cgroup').read()); print(sorted(os.sched_getaffinity(0)))"
    with pytest.raises(KeyboardInterrupt), pi_budget() as budget:
        assert budget.quota() == "2500 10000"
        seen = subprocess.run([sys.executable, "-c", probe], preexec_fn=budget.enter, capture_output=True, text=True)
        assert f"/{budget.path.name}\n" in seen.stdout and f"[{budget.cpu}]" in seen.stdout
        left = subprocess.Popen(["sleep", "60"], preexec_fn=budget.enter)
        assert left.pid in budget.pids()
        raise KeyboardInterrupt
    assert left.wait(timeout=10) != 0  # stopped by the clean-up, not left running
    assert not budget.path.exists()


@can_run
def test_a_short_pi_class_run_measures_the_till_in_the_budget_on_slow_fsyncs(tmp_path, monkeypatch):
    checked = []
    check = Budget.check
    monkeypatch.setattr(Budget, "check", lambda self, pid: (check(self, pid), checked.append(pid)))
    if shutil.which("cc") is None:
        pytest.skip("no C compiler: the fsync shim cannot be built")
    shim, how = build_shim(tmp_path)
    assert shim is not None, how
    assert timed_fsync(tmp_path, shim_env(shim)) >= FSYNC_DELAY_MS  # the shim's whole point, not a speed goal
    with pi_budget() as budget:
        out = bench_pi(tmp_path, budget, tui=(1000, 50, 3, 0.5), n_sales=5)
        throttled = budget.throttled()
    assert throttled > 0  # the quota held the processes back
    assert len(set(checked)) >= 3  # the till (twice: alone, then with a server) and its sync child, each in it
    figures = {"pi_startup_ms", "pi_scan_p99_ms", "pi_checkout_p99_ms", "pi_idle_cpu_pct", "pi_pin_check_ms"}
    assert figures <= {k for k, v in out.items() if v is not None}
    pi = out["pi_class"]
    assert pi["fsync_delay_ms"] == FSYNC_DELAY_MS and pi["fsync_measured_ms"] >= FSYNC_DELAY_MS
    assert pi["quota_as_set"] == "2500 10000" and "cgroup" in pi["method"] and "sched_setaffinity" in pi["method"]
    assert not budget.path.exists()


def test_without_a_compiler_the_slow_storage_part_says_it_did_not_run(tmp_path, monkeypatch):
    import caja_tui.bench.pi as pi

    monkeypatch.setattr(pi.shutil, "which", lambda name: None)
    shim, how = build_shim(tmp_path)
    assert shim is None and how.startswith("not run: no C compiler (cc)")
