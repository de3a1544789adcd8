"""Finding the shop's other tills on the LAN by mDNS/DNS-SD (PROTOCOL.md "Peers on the shop's LAN"), with
python-zeroconf (ARCHITECTURE.md: pure Python with wheels for the Pi, no avahi daemon nor D-Bus to set up).

The till's sync process advertises the service `_caja._tcp.local.` on the port its peer server bound, at this
machine's LAN addresses, with TXT `v=2`, `store=<store_id>`, `device=<device_id>`; and browses for the same
service. A till of another store, of another peer protocol, and this till itself are never listed (`peer_of`).
A peer that appears wakes the gossip loop (`on_found`); one that says goodbye, or whose records expire (two
minutes after a till vanishes without a word), is dropped.

Idle it costs nothing one can measure: zeroconf's own threads wait on their sockets and answer the odd query;
ours wakes every 30 s to look at the machine's addresses, so a till started before its DHCP lease, or moved to
another network, starts advertising where it now is. Nothing here may stop the sync process: no interface, no
multicast, a permission error: a warning, and the static `[peers] addresses` go on alone.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from ipaddress import IPv4Interface, IPv4Network

import ifaddr
from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

log = logging.getLogger("caja.peers")
SERVICE = "_caja._tcp.local."
VERSION = "2"  # the peer protocol's version (PROTOCOL.md): a till of another version is not listed
CHECK_S = 30.0  # how often the machine's addresses are looked at
RESOLVE_MS = 3000  # how long to wait for a new service's address and TXT
TTL_S = 120  # of every record: a till gone without a goodbye is dropped within this (RFC 6762's 75 min is long)


def peer_of(properties: Mapping[bytes, bytes | None], store_id: str, device_id: str) -> str | None:
    """The device a service's TXT names when it is a till of this store that speaks this peer protocol and is
    not this till; None for anything else."""

    def text(key: bytes) -> str:
        value = properties.get(key)
        return value.decode("utf-8", "replace") if value else ""

    if text(b"v") != VERSION or text(b"store") != store_id:
        return None
    device = text(b"device")
    return device if device and device != device_id else None


def pick_address(addresses: Iterable[str], networks: Iterable[IPv4Network]) -> str | None:
    """Where to reach a peer that gave several IPv4 addresses: the first on one of this till's networks, else
    the first that is not loopback (which would be this machine); None when there is none."""
    usable = []
    for text in addresses:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            continue
        if ip.version == 4 and not (ip.is_loopback or ip.is_unspecified or ip.is_multicast):
            usable.append(ip)
    nets = list(networks)
    for ip in usable:
        if any(ip in net for net in nets):
            return str(ip)
    return str(usable[0]) if usable else None


def advertised(listen_host: str, lan: Iterable[IPv4Interface]) -> list[str]:
    """The addresses to advertise for a peer server listening on `listen_host`: every LAN address for the
    wildcard, that one address when it is a LAN address of this machine, none otherwise (loopback: the others
    could not reach it)."""
    mine = [str(i.ip) for i in lan]
    if listen_host in ("", "0.0.0.0"):
        return mine
    return [listen_host] if listen_host in mine else []


def lan_addresses() -> list[IPv4Interface]:
    """This machine's IPv4 addresses with their networks, loopback left out, sorted ([] when none can be read)."""
    found = set()
    try:
        adapters = ifaddr.get_adapters()
    except OSError as exc:
        log.warning("cannot list this machine's network interfaces: %s", exc)
        return []
    for adapter in adapters:
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and ip.network_prefix is not None:
                iface = IPv4Interface(f"{ip.ip}/{ip.network_prefix}")
                if not iface.ip.is_loopback:
                    found.add(iface)
    return sorted(found)


def service_names(store_id: str, device_id: str) -> tuple[str, str]:
    """This till's service instance name and host name: unique per store and device (two shops' T1 differ), and
    within DNS's 63-byte labels."""
    digest = hashlib.sha256(f"{store_id}\0{device_id}".encode()).hexdigest()
    return f"Caja {device_id[:40]} {digest[:8]}.{SERVICE}", f"caja-{digest[:16]}.local."


class Discovery:
    """Advertises this till (when `port` is not None) and lists the peers of its store that mDNS finds."""

    def __init__(
        self,
        store_id: str,
        device_id: str,
        *,
        port: int | None,
        listen_host: str = "0.0.0.0",
        on_found: Callable[[], object] = lambda: None,
        check_s: float = CHECK_S,
    ) -> None:
        self.store_id, self.device_id = store_id, device_id
        self.port, self.listen_host = port, listen_host
        self.on_found = on_found
        self.check_s = check_s
        self._found: dict[str, tuple[str, str, int]] = {}  # service name -> (device, host, port)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._zc: Zeroconf | None = None
        self._browser: ServiceBrowser | None = None
        self._lan: list[IPv4Interface] | None = None  # the addresses mDNS was last started on

    def start(self) -> Discovery:
        """In a thread of its own: opening the sockets and probing the name take about a second."""
        self._thread = threading.Thread(target=self._run, name="mdns", daemon=True)
        self._thread.start()
        return self

    def addresses(self) -> list[tuple[str, int]]:
        with self._lock:
            return sorted({(host, port) for _device, host, port in self._found.values()})

    def peers(self) -> dict[str, tuple[str, int]]:
        """device -> (host, port) of the peers found now."""
        with self._lock:
            return {device: (host, port) for device, host, port in self._found.values()}

    def close(self, timeout: float = 10.0) -> None:
        """Say goodbye (the others drop this till at once) and stop zeroconf's threads."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # --- the thread -----------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:  # until close(): one look at the addresses every check_s
                lan = lan_addresses()
                if lan != self._lan:
                    self._restart(lan)
                if self._stop.wait(self.check_s):
                    break
        except Exception:  # noqa: BLE001 - discovery must never take the sync process with it
            log.exception("mDNS discovery stopped; static peer addresses still work")
        finally:
            self._shutdown()

    def _restart(self, lan: list[IPv4Interface]) -> None:
        self._shutdown()
        self._lan = lan
        if not lan:
            log.info("mDNS: no LAN address yet; looking again in %.0f s", self.check_s)
            return
        try:
            self._zc = Zeroconf(interfaces=[str(i.ip) for i in lan], ip_version=IPVersion.V4Only)
        except Exception as exc:  # noqa: BLE001 - OSError, a permission error, no multicast: the same answer
            log.warning("mDNS off (%s: %s); static peer addresses only", exc.__class__.__name__, exc)
            return
        try:
            self._browser = ServiceBrowser(self._zc, SERVICE, handlers=[self._changed])
            self._advertise(self._zc, lan)
        except Exception as exc:  # noqa: BLE001 - browsing may still work when advertising did not
            log.warning("mDNS: cannot advertise this till (%s: %s)", exc.__class__.__name__, exc)

    def _advertise(self, zc: Zeroconf, lan: list[IPv4Interface]) -> None:
        addresses = advertised(self.listen_host, lan)
        if self.port is None or not addresses:
            log.info("mDNS: looking for peers without advertising this till (it does not serve them on the LAN)")
            return
        name, host = service_names(self.store_id, self.device_id)
        info = ServiceInfo(
            SERVICE,
            name,
            port=self.port,
            properties={"v": VERSION, "store": self.store_id, "device": self.device_id},
            server=host,
            parsed_addresses=addresses,
            host_ttl=TTL_S,
            other_ttl=TTL_S,
        )
        zc.register_service(info, allow_name_change=True)  # a clone of this till on the LAN: renamed, not fatal
        log.info("mDNS: advertising this till on %s port %d", ", ".join(addresses), self.port)

    def _changed(self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        """zeroconf's browser thread calls this (the keyword names are its own); an exception here would end it."""
        try:
            peer = None
            if state_change is not ServiceStateChange.Removed:
                info = zeroconf.get_service_info(service_type, name, timeout=RESOLVE_MS)
                peer = self._peer(info) if info is not None else None
            with self._lock:
                before = self._found.pop(name, None)
                if peer is not None:
                    self._found[name] = peer
            if peer is not None and peer != before:
                log.info("mDNS: found peer %s at %s:%d", *peer)
                self.on_found()
            elif before is not None and peer is None:
                log.info("mDNS: peer %s at %s:%d is gone", *before)
        except Exception:  # noqa: BLE001
            log.exception("mDNS: a service change could not be read")

    def _peer(self, info: ServiceInfo) -> tuple[str, str, int] | None:
        device = peer_of(info.properties, self.store_id, self.device_id)
        host = pick_address(info.parsed_addresses(IPVersion.V4Only), [i.network for i in self._lan or []])
        if device is None or host is None or not info.port:
            return None
        return device, host, info.port

    def _shutdown(self) -> None:
        zc, browser = self._zc, self._browser
        self._zc = self._browser = None
        with self._lock:
            self._found.clear()
        try:
            if browser is not None:
                browser.cancel()
            if zc is not None:
                zc.close()  # goodbye packets for this till's service, then zeroconf's threads end
        except Exception as exc:  # noqa: BLE001
            log.warning("mDNS: closing: %s: %s", exc.__class__.__name__, exc)
