"""The line-mode till's sync (issue 15), real processes and sockets: quitting never waits on the network, and the
prompt says what the connection is at the moment it is shown. Also the parts the other line-mode tests share: a
`caja line` driven over a pipe, a socket that accepts and never answers, and a proxy that holds some requests."""

from __future__ import annotations

import os
import select
import socket
import threading
import time

import pytest

from tests.faultproxy import FaultProxy
from tests.integration.test_cli import caja, english, init_synced
from tests.integration.test_disk_full import Till
from tests.server_proc import ServerProcess


class LineTill(Till):
    """A `caja line` process driven through its standard input, read up to what it is expected to say."""

    def until(self, *tokens: str, timeout: float = 60) -> str:
        """What the till says up to the first of `tokens` it says."""
        end = time.monotonic() + timeout
        while not any(t.encode() in self.buf for t in tokens):
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, end - time.monotonic()))
            chunk = os.read(self.proc.stdout.fileno(), 65536) if ready else b""
            if not chunk:
                raise AssertionError(f"no {tokens!r} from the till; it said: {self.buf.decode()[-2000:]}")
            self.buf += chunk
        i = min(self.buf.index(t.encode()) + len(t) for t in tokens if t.encode() in self.buf)
        out, self.buf = self.buf[:i].decode(), self.buf[i:]
        return out

    def type(self, line: str, then: str = "] > ", *more: str) -> str:
        self.proc.stdin.write(f"{line}\n".encode())
        self.proc.stdin.flush()
        return self.until(then, *more)

    def sign_in(self, number: str = "2", pin: str = "0000", words=("number: ", "PIN: ", "Opening float: ")) -> str:
        """Sign in (Luis, the demo's cashier, by default) and open the session if asked: the first prompt. `words`:
        how the till asks, in its language."""
        self.until(words[0])
        self.type(number, words[1])
        said = self.type(pin, "] > ", words[2])
        return self.type("0") if said.endswith(words[2]) else said

    def prompt_until(self, wanted: str, timeout: float = 30) -> str:
        """Press Enter until the prompt says `wanted` (it is drawn again at each line); that prompt."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            prompt = self.type("").rsplit("\n", 1)[-1]
            if wanted in prompt:
                return prompt
            time.sleep(0.1)
        raise AssertionError(f"the prompt never said {wanted!r}; the last one: {prompt!r}")

    def quit(self, timeout: float = 30) -> int:
        """Type quit; the exit code (TimeoutExpired if the till has not left within `timeout`)."""
        self.proc.stdin.write(b"quit\n")
        self.proc.stdin.flush()
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Silent:
    """A socket on 127.0.0.1 that accepts connections and never answers; `requests` counts what arrived."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests = 0
        self.arrived = threading.Condition()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            conn.recv(65536)
            with self.arrived:
                self.requests += 1
                self.arrived.notify_all()

    def wait_for_request(self, timeout: float = 60) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: self.requests > 0, timeout), "nothing connected to the silent socket"

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


class Holding(FaultProxy):
    """A proxy to a real server that holds the requests `held(method, path)` picks: it accepts them and never
    answers while `holding` is set; `requests` lists every request as (method, path)."""

    def __init__(self, upstream_port: int, held) -> None:
        super().__init__(upstream_port, weights={"pass": 1})
        self.held = held
        self.holding = threading.Event()  # set by the test when it wants them held
        self.requests: list[tuple[str, str]] = []
        self.arrived = threading.Condition()

    def _handle(self, h) -> None:
        with self.arrived:
            self.requests.append((h.command, h.path))
            self.arrived.notify_all()
        if self.held(h.command, h.path):
            while self.holding.is_set():
                time.sleep(0.05)
        super()._handle(h)

    def wait_for(self, method: str, path: str, after: int = 0, timeout: float = 60) -> None:
        """Until a request `method path...` arrives, counting from the `after`th."""

        def arrived() -> bool:
            return any(m == method and p.startswith(path) for m, p in self.requests[after:])

        with self.arrived:
            assert self.arrived.wait_for(arrived, timeout), f"no {method} {path} reached the proxy: {self.requests}"


@pytest.fixture
def server(tmp_path):
    srv = ServerProcess(str(tmp_path / "server.db"), workers=2).start()
    yield srv
    srv.stop()


def pull(method: str, path: str) -> bool:
    return method == "GET" and path.startswith("/v1/events")


def test_quitting_after_a_sale_never_waits_for_a_server_that_does_not_answer(server, tmp_path):
    proxy = Holding(server.port, pull).start()  # everything reaches the server but the pull, held unanswered
    cfg = tmp_path / "t1.toml"
    assert init_synced(cfg, "T1", proxy.url, server.enroll("shop", "T1"), "--demo").returncode == 0
    proxy.holding.set()
    before = len(proxy.requests)
    till = LineTill(english(cfg))
    try:
        till.sign_in()
        proxy.wait_for("GET", "/v1/events", after=before)  # the till's pull, which never gets an answer
        till.type("ABA-01A")
        assert "Receipt T1-000001" in till.type("pay"), proxy.requests
        # the client would wait 20 s (its read timeout) for the answer; quitting waits a second at most
        assert till.quit(timeout=5) == 0
    finally:
        till.kill()
        proxy.holding.clear()
        proxy.stop()
    direct = cfg.read_text(encoding="utf-8").replace(proxy.url, server.url)
    cfg.write_text(direct, encoding="utf-8")
    assert caja("--config", str(cfg), "sync", "--once").returncode == 0  # the sale reaches the server all the same
    assert "pending 0" in caja("--config", str(cfg), "status").stdout


def test_the_prompt_says_what_the_connection_is_now(server, tmp_path):
    cfg = tmp_path / "t1.toml"
    assert init_synced(cfg, "T1", server.url, server.enroll("shop", "T1"), "--demo").returncode == 0
    assert caja("--config", str(english(cfg)), "sync", "--once").returncode == 0  # the last sync was online
    silent = Silent()  # then the server accepts connections and never answers
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(server.url, silent.url), encoding="utf-8")
    till = LineTill(cfg)
    try:
        first = till.sign_in().rsplit("\n", 1)[-1]
        assert "online" not in first, first  # nothing has answered this till since it started
        silent.wait_for_request()
        assert "[server not answering, 1 not synced] > " in till.prompt_until("not answering")  # the session opened
        assert till.quit(timeout=5) == 0  # and quitting does not wait for it either
    finally:
        till.kill()
        silent.close()
