"""Discovery for real (issue 13): tills in network namespaces this test makes, on one bridge, with no static peer
addresses, find each other by mDNS (`_caja._tcp`, caja_tui/peers/discovery.py) and converge while the server is
down; a till of another store on the same bridge is heard on the wire and listed by none of them; each stops
cleanly on SIGTERM. The bridge lives in a namespace of its own, so nothing of the host's network is touched.
Skipped, saying why, only where network namespaces cannot be made (not root, no `ip`, a sandbox that says no)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from caja_tui.application import cash
from caja_tui.peers.state import read_state
from tests.conftest import make_store
from tests.e2e.conftest import ROOT, caja_at
from tests.e2e.test_peers import _digests
from tests.e2e.test_sync import sell

NET = "10.213.77"  # a private /24 inside the test's own namespaces
PORT = 7870  # each namespace has its own ports: every till takes the default
TILLS = {"T1": ("demo", 11), "T2": ("demo", 12), "T3": ("demo", 13), "X1": ("other", 14)}
SHOP = ("T1", "T2", "T3")
PROBE = """
import json, sys, time
from caja_tui.peers.discovery import Discovery
d = Discovery(sys.argv[1], "probe", port=None).start()  # browse only, as a till of that store would
for _ in range(150):
    if d.peers():
        break
    time.sleep(0.2)
print(json.dumps(d.peers()))
d.close()
"""


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


def _can_make_namespaces() -> str:
    """'' when this machine lets the test make network namespaces, else why not."""
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2) on this machine"
    probe = f"cajaprobe{uuid.uuid4().hex[:8]}"
    made = _ip("netns", "add", probe)
    if made.returncode != 0:
        return f"`ip netns add` refused here: {made.stderr.strip()}"
    _ip("netns", "del", probe)
    return ""


class Lan:
    """A bridge in a namespace of its own, and one namespace per till plugged into it by a veth pair."""

    def __init__(self) -> None:
        self.prefix = f"caja{uuid.uuid4().hex[:6]}"
        self.hub = f"{self.prefix}lan"
        self.made: list[str] = []

    def _must(self, *args: str) -> None:
        r = _ip(*args)
        assert r.returncode == 0, f"ip {' '.join(args)}: {r.stderr}"

    def up(self, hosts: dict[str, int]) -> Lan:
        self._must("netns", "add", self.hub)
        self.made.append(self.hub)
        self._must("-n", self.hub, "link", "add", "br0", "type", "bridge")
        self._must("-n", self.hub, "addr", "add", f"{NET}.1/24", "dev", "br0")
        self._must("-n", self.hub, "link", "set", "br0", "up")
        for name, host in hosts.items():
            ns = self.ns(name)
            self._must("netns", "add", ns)
            self.made.append(ns)
            port = f"v{host}"
            self._must("-n", self.hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
            self._must("-n", self.hub, "link", "set", port, "master", "br0", "up")
            self._must("-n", ns, "addr", "add", f"{NET}.{host}/24", "dev", "eth0")
            self._must("-n", ns, "link", "set", "eth0", "up")
            self._must("-n", ns, "link", "set", "lo", "up")
        return self

    def ns(self, name: str) -> str:
        return f"{self.prefix}{name.lower()}"

    def down(self) -> None:
        for ns in reversed(self.made):  # its veth ends and the bridge go with each namespace
            _ip("netns", "del", ns)


def _peers_section(cfg: Path) -> None:
    """Peers on, serving on every address of the till's namespace, and no static addresses: mDNS alone."""
    text = cfg.read_text()
    head, _, _rest = text.partition("[peers]")
    tail = text[text.index("[printer]") :]
    cfg.write_text(f'{head}[peers]\nenabled = true\nlisten = "0.0.0.0:{PORT}"\naddresses = []\n\n{tail}')


def _make_tills(tmp_path: Path, server, demo_till) -> dict[str, Path]:
    """T1 with the demo catalog, T2 and T3 of the same store, X1 of another; each knows its store's keys."""
    cfgs = {d: tmp_path / f"{d.lower()}.toml" for d in TILLS}
    for d, (store, _host) in TILLS.items():
        if d == "T1":
            demo_till(cfgs[d], d, server.url)
        else:
            token = server.enroll(store, d)
            r = caja_at(cfgs[d])("init", "--store", store, "--device", d, "--server", server.url, "--token", token)
            assert r.returncode == 0, r.stdout + r.stderr
        _peers_section(cfgs[d])
    for _ in range(2):  # every key registered, and every till knows the others' keys
        for d in TILLS:
            r = caja_at(cfgs[d])("sync", "--once")
            assert r.returncode == 0, r.stdout + r.stderr
    return cfgs


def _sync_in(ns: str, cfg: Path, log: Path) -> subprocess.Popen:
    """`caja sync` inside the namespace (`ip netns exec` execs it: the pid is the till's)."""
    cmd = ["ip", "netns", "exec", ns, sys.executable, "-m", "caja_tui.cli", "--config", str(cfg), "sync"]
    return subprocess.Popen(
        [*cmd, "--log", str(log)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _listed(tmp_path: Path, device: str) -> dict[str, str]:
    """address -> device of the peers a till's sync process asked (its `<db>.peers.json`)."""
    return {p["address"]: p.get("device_id", "") for p in read_state(tmp_path / f"{device.lower()}.db")}


def _logs(tmp_path: Path) -> str:
    return "\n".join(f"--- {d}\n" + _tail(tmp_path / f"{d}.sync.log") for d in TILLS)


def _tail(path: Path) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-15:]) if path.exists() else "(no log)"


def _wait(what, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(0.5)
    return bool(what())


def test_tills_find_each_other_by_mdns_and_converge_and_ignore_another_store(tmp_path, server, demo_till):
    why_not = _can_make_namespaces()
    if why_not:
        pytest.skip(why_not)
    cfgs = _make_tills(tmp_path, server, demo_till)
    server.stop()  # no server from here on (the namespaces could not reach it anyway)
    lan = Lan()
    procs: dict[str, subprocess.Popen] = {}
    try:
        lan.up({d: host for d, (_store, host) in TILLS.items()})
        for d in TILLS:
            procs[d] = _sync_in(lan.ns(d), cfgs[d], tmp_path / f"{d}.sync.log")
        t1 = make_store(tmp_path / "t1.db", device_id="T1", store_id="demo")
        cash.open_session(t1, "luis", 0)
        sell(t1, "luis", "7500100100004")
        t1.close()
        paths = {d: tmp_path / f"{d.lower()}.db" for d in SHOP}

        def converged() -> bool:
            digests = [_digests(paths[d], d) for d in SHOP]
            return digests[0] == digests[1] == digests[2]

        assert _wait(converged, 90), "the shop's tills did not converge by mDNS\n" + _logs(tmp_path)
        shop = {f"{NET}.{TILLS[d][1]}:{PORT}": d for d in SHOP}
        for d in SHOP:  # each found the two others, under their device ids, and neither itself nor X1
            want = {a: dev for a, dev in shop.items() if dev != d}
            assert _wait(lambda d=d, want=want: _listed(tmp_path, d) == want, 30), (d, _listed(tmp_path, d))
        # X1 is on the wire (a till of its store hears it) but asks no till of another store
        probe = subprocess.run(
            ["ip", "netns", "exec", lan.hub, sys.executable, "-c", PROBE, "other"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert json.loads(probe.stdout or "null") == {"X1": [f"{NET}.14", PORT]}, probe.stdout + probe.stderr
        assert _listed(tmp_path, "X1") == {}, _listed(tmp_path, "X1")
    finally:
        for p in procs.values():
            p.send_signal(signal.SIGTERM)
        codes = {}
        for d, p in procs.items():
            try:
                codes[d] = p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                codes[d] = p.wait(timeout=10)
        lan.down()
    assert codes == {d: 0 for d in TILLS}, f"a till did not stop cleanly on SIGTERM: {codes}\n" + _logs(tmp_path)
    leftover = _ip("netns", "list").stdout
    assert lan.prefix not in leftover, leftover
