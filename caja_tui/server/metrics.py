"""The server's Prometheus metrics: events by store, type and result, each device's last contact and clock
skew, and this process's push and pull latency.

Who may read them (PROTOCOL.md "Trust"): the holder of the metrics token (`caja serve enroll --metrics`), or a
client on this machine without a token: a loopback peer address that no proxy header says is relaying
someone else (a reverse proxy on the same host connects from loopback too). Every series is bounded by what
an operator made (stores and devices enrolled, the known event types, the fixed results): nothing a client
sends creates one.
"""

from __future__ import annotations

import ipaddress
import threading
from typing import TYPE_CHECKING, Literal

import falcon

from .http import ApiError

if TYPE_CHECKING:
    from .app import Server

TokenKind = Literal["none", "metrics", "device", "unknown"]
FORWARDING_HEADERS = (
    "Forwarded",
    "X-Forwarded-For",
    "X-Real-IP",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
)  # any of them: a proxy relays someone
METRICS_HELP = "send Authorization: Bearer <the token of caja serve enroll --metrics>, or ask from this machine"

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0
        self.n = 0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            for i, b in enumerate(LATENCY_BUCKETS):
                if seconds <= b:
                    self.counts[i] += 1
                    break
            else:
                self.counts[-1] += 1
            self.total += seconds
            self.n += 1

    def render(self, name: str) -> list[str]:
        out, acc = [f"# TYPE {name} histogram"], 0
        for b, c in zip(LATENCY_BUCKETS, self.counts, strict=False):
            acc += c
            out.append(f'{name}_bucket{{le="{b}"}} {acc}')
        out.append(f'{name}_bucket{{le="+Inf"}} {self.n}')
        out.append(f"{name}_sum {self.total:.6f}")
        out.append(f"{name}_count {self.n}")
        return out


def is_loopback(remote: str | None) -> bool:
    """127.0.0.0/8, ::1 or ::ffff:127.x.y.z; anything else (a LAN or internet address, a Unix socket's empty
    address, garbage) is not."""
    try:
        ip = ipaddress.ip_address((remote or "").strip("[]"))
    except ValueError:
        return False
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return (mapped or ip).is_loopback


def refusal(remote: str | None, forwarded: bool, token: TokenKind) -> tuple[int, str] | None:
    """Whether /metrics is answered: None, or the (status, message) it is refused with. `remote` is the peer's
    address as the server's socket sees it; `forwarded` whether the request carries a proxy's forwarding header."""
    if token == "metrics":
        return None
    if token == "device":
        return 403, "a device's token cannot read /metrics; " + METRICS_HELP
    if token == "unknown":
        return 401, "unknown or replaced metrics token; " + METRICS_HELP
    if is_loopback(remote) and not forwarded:
        return None
    return 401, METRICS_HELP


class MetricsResource:
    def __init__(self, server: Server) -> None:
        self.server = server

    def _token_kind(self, req: falcon.Request) -> TokenKind:
        scheme, _, token = (req.get_header("Authorization") or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return "none"
        if self.server.storage.is_metrics_token(token):
            return "metrics"
        return "device" if self.server.storage.authenticate(token) is not None else "unknown"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        forwarded = any(req.get_header(h) for h in FORWARDING_HEADERS)
        refused = refusal(req.remote_addr, forwarded, self._token_kind(req))
        if refused is not None:
            status, message = refused
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
            raise ApiError(status, "UNAUTHORIZED" if status == 401 else "FORBIDDEN", message, headers)
        s = self.server.storage
        lines = [
            "# HELP caja_events_total Events received, by store, type and result.",
            "# TYPE caja_events_total counter",
        ]
        for store, type_, status, n in s.stats():
            lines.append(f'caja_events_total{{store="{_esc(store)}",type="{_esc(type_)}",status="{status}"}} {n}')
        lines.append("# HELP caja_device_last_seen_seconds When a device last talked to the server (unix time).")
        lines.append("# TYPE caja_device_last_seen_seconds gauge")
        devices = s.devices()
        for d in devices:
            if d["last_seen"]:
                lines.append(
                    f'caja_device_last_seen_seconds{{store="{_esc(d["store_id"])}",'
                    f'device="{_esc(d["device_id"])}"}} {d["last_seen"] / 1000:.3f}'
                )
        lines.append("# HELP caja_device_clock_skew_seconds The device's clock minus the server's, at its last push.")
        lines.append("# TYPE caja_device_clock_skew_seconds gauge")
        for d in devices:
            if d["clock_skew_ms"] is not None:
                lines.append(
                    f'caja_device_clock_skew_seconds{{store="{_esc(d["store_id"])}",'
                    f'device="{_esc(d["device_id"])}"}} {d["clock_skew_ms"] / 1000:.3f}'
                )
        lines += ["# HELP caja_push_seconds Push latency in this server process."]
        lines += self.server.push_latency.render("caja_push_seconds")
        lines += ["# HELP caja_pull_seconds Pull latency in this server process."]
        lines += self.server.pull_latency.render("caja_pull_seconds")
        resp.content_type = "text/plain; version=0.0.4"
        resp.text = "\n".join(lines) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
