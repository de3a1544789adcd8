"""Starting the peers beside the sync engine, in the till's sync process (`caja sync`)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from ..config import Config, split_address
from ..store import peers as peer_store
from .gossip import PeerSync
from .serve import PeerApp, PeerServer

if TYPE_CHECKING:
    from .discovery import Discovery

log = logging.getLogger("caja.peers")


def wanted(cfg: Config, store: Any) -> bool:
    """Peers are on, and this till has someone to talk to or someone may find it: a server (whose device list
    gives the store's keys), static addresses, or a paired till."""
    if not cfg.peers.enabled:
        return False
    return bool(cfg.sync.server_url or cfg.peers.addresses or peer_store.paired_keys(store))


class Peers:
    """The peer server, mDNS discovery and the gossip thread of one till (the server and gossip each on a store
    connection of its own). The peers gossip asks are the static addresses and those mDNS found."""

    def __init__(self, ctx: Any, store: Any) -> None:
        from ..sync.transport import Transport

        cfg: Config = ctx.cfg
        self.ctx = ctx
        self.static = [split_address(a) for a in cfg.peers.addresses]
        self.serve_store = ctx.side_store(store)
        self.gossip_store = ctx.side_store(store)
        sync = cfg.sync
        transport = Transport(sync.server_url, sync.token, ca_file=sync.ca_file) if sync.server_url else None
        self.sync = PeerSync(self.gossip_store, self.addresses, transport=transport)
        self.server: PeerServer | None = None
        self.discovery: Discovery | None = None
        self.thread: threading.Thread | None = None

    def addresses(self) -> list[tuple[str, int]]:
        """Static ones, those mDNS found, and where paired tills were when paired."""
        found = self.discovery.addresses() if self.discovery is not None else []
        paired = []
        for text in peer_store.paired_addresses(self.gossip_store):
            try:
                paired.append(split_address(text))
            except ValueError:
                continue
        return list(dict.fromkeys(self.static + found + paired))

    def serve(self) -> None:
        host, port = split_address(self.ctx.cfg.peers.listen)
        try:
            self.server = PeerServer(PeerApp(self.serve_store, on_poke=self.sync.wake), host, port).start()
            log.info("serving peers on %s:%d", host, self.server.port)
        except OSError as exc:  # the port is taken (another till on this machine): gossip still pulls
            log.warning("cannot serve peers on %s:%d (%s); this till still pulls from its peers", host, port, exc)

    def discover(self) -> None:
        """Advertise the port the server bound (none when it could not: browse only) and look for the others
        (unless `[peers] mdns = false`)."""
        if not self.ctx.cfg.peers.mdns:
            return
        try:
            from .discovery import Discovery
        except ImportError as exc:  # a till updated without `pip install`: it syncs, with its static peers only
            log.warning("no mDNS discovery (%s); static peer addresses only", exc)
            return
        self.discovery = Discovery(
            self.gossip_store.store_id,
            self.gossip_store.device_id,
            port=self.server.port if self.server is not None else None,
            listen_host=split_address(self.ctx.cfg.peers.listen)[0],
            on_found=self.sync.wake,
        ).start()

    def start(self, stop: threading.Event) -> Peers:
        self.serve()
        self.discover()
        self.thread = threading.Thread(target=self.sync.run, args=(stop,), name="peers", daemon=True)
        self.thread.start()
        return self

    def close(self) -> None:
        if self.discovery is not None:
            self.discovery.close()  # its goodbye first: the others stop asking a till that is leaving
        if self.server is not None:
            self.server.stop()
        if self.thread is not None:
            self.thread.join(timeout=2)  # a round waiting on a slow peer does not hold the exit (daemon thread)
        self.serve_store.close()
        self.gossip_store.close()
