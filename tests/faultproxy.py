"""A fault-injecting HTTP proxy on 127.0.0.1, between a till and `caja serve`.

Each request gets one fault from a seeded random schedule (or a forced one): pass, drop (close before
forwarding), reset (TCP RST), error500 (answer 500 without forwarding), stall (wait, then forward),
lose_response (forward, let the server store it, then close without answering), duplicate (forward twice).
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("pass", "drop", "reset", "error500", "stall", "lose_response", "duplicate")


class FaultProxy:
    def __init__(
        self, upstream_port: int, *, seed: int = 7, weights: dict[str, float] | None = None, stall_s: float = 5.0
    ) -> None:
        self.upstream_port = upstream_port
        self.rnd = random.Random(seed)
        self.weights = weights or {
            "pass": 4,
            "drop": 1,
            "reset": 1,
            "error500": 1,
            "stall": 0.3,
            "lose_response": 1,
            "duplicate": 1,
        }
        self.stall_s = stall_s
        self.forced: str | None = None
        self.seen: dict[str, int] = {f: 0 for f in FAULTS}
        self.held: dict[str, int] = {}  # "METHOD path" -> requests stalled in the proxy so far (ever begun)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                proxy._handle(self)

            def do_POST(self) -> None:
                proxy._handle(self)

            def do_PUT(self) -> None:  # a till registering its key (PUT /v1/devices/me/key)
                proxy._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        # a till killed mid-request leaves a broken pipe behind: expected here, not worth a traceback
        self.httpd.handle_error = lambda request, client_address: None
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _pick(self) -> str:
        with self._lock:
            fault = self.forced or self.rnd.choices(list(self.weights), weights=list(self.weights.values()))[0]
            self.seen[fault] += 1
            return fault

    def _forward(self, h: BaseHTTPRequestHandler, body: bytes | None):
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        headers = {k: v for k, v in h.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(h.command, h.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        out = (
            resp.status,
            resp.reason,
            [
                (k, v)
                for k, v in resp.getheaders()
                if k.lower() not in ("connection", "transfer-encoding", "content-length")
            ],
            data,
        )
        conn.close()
        return out

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else None
        fault = self._pick()
        h.close_connection = True
        if fault == "drop":
            return
        if fault == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if fault == "error500":
            h.send_response(500)
            h.send_header("Content-Length", "0")
            h.send_header("Connection", "close")
            h.end_headers()
            return
        if fault == "stall":
            key = f"{h.command} {h.path.split('?')[0]}"
            with self._lock:
                self.held[key] = self.held.get(key, 0) + 1
            time.sleep(self.stall_s)
        try:
            status, reason, headers, data = self._forward(h, body)
            if fault == "duplicate":
                status, reason, headers, data = self._forward(h, body)
        except OSError:  # the server is down (a restart): what a real proxy says then
            status, reason, headers, data = 502, "Bad Gateway", [], b""
        if fault == "lose_response":
            return  # the server has stored it; the till never hears back
        h.send_response(status, reason)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(data)
