"""Pull-only gossip with the shop's other tills (PROTOCOL.md "Peers on the shop's LAN").

A round asks each peer for its heads (the highest seq it holds of each device), and for every device where
the peer is ahead, fetches the events after this till's own highest seq of that device, a page at a time, in
seq order. Each event goes through the event check and the projections (`SqliteStore.apply_remote`): only
signed events of a device whose key this till knows are taken from a peer, never this till's own device id,
never another store's. They wait for relay to the server (relay.py).

Rounds run a few seconds apart, at once when this till wrote something (it pokes its peers, which then pull
from it) or a peer poked it, and cost two small requests per peer when nothing changed. What it knows of its
peers (address, device, last seen, events behind, last error) is kept in a small file beside the database
(`<db>.peers.json`), read by the status line, the sync screen and `caja status`: no database write for it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..domain.chain import GENESIS
from ..domain.clock import system_ms
from ..protocol.check import Checked
from ..protocol.keys import signature_ok
from ..store import peers as peer_store
from ..sync.transport import Transport, TransportError
from .client import PeerClient
from .relay import relay_once
from .state import state_path

log = logging.getLogger("caja.peers")
_Checked = tuple[list, list[Checked]]  # a page's signed events and their checks
EVERY_S = 3.0  # between rounds when nothing happens
MIN_GAP_S = 0.1  # between rounds however often something happens


class PeerSync:
    def __init__(
        self,
        store: Any,
        addresses: Callable[[], list[tuple[str, int]]],
        *,
        transport: Transport | None = None,
    ) -> None:
        self.store = store
        self.addresses = addresses  # static ones and those mDNS found, asked again each round
        self.transport = transport  # for relay; None: no server configured
        self.clients: dict[tuple[str, int], PeerClient] = {}
        self.peers: dict[str, dict[str, Any]] = {}  # "host:port" -> what the file shows
        self._wake = threading.Event()
        self._saved = ""
        self._version: int | None = None
        # device -> the seq before the first of its events refused NOT_ALLOWED (a manager made by someone this till
        # does not know as a manager yet, e.g. their own promotion comes from another till): asked again from there
        # each round until it is taken; the server's pull brings it too, in the order the server decided. Kept in
        # the database (meta peer_retry), so a restart of the sync process does not forget it
        self.retry: dict[str, int] = json.loads(store.meta("peer_retry") or "{}")

    def wake(self, *_: object) -> None:
        self._wake.set()

    # --- one round ------------------------------------------------------------------------------------

    def round(self) -> int:
        """Ask every peer once; the number of new events taken."""
        new = 0
        with self.store.read():
            mine = peer_store.heads(self.store)
        for host, port in self.addresses():
            new += self._one(host, port, mine)
        self._relay()
        self._save()
        return new

    def _one(self, host: str, port: int, mine: dict[str, tuple[int, str]]) -> int:
        address = f"{host}:{port}"
        client = self._client(host, port)
        info = self.peers.setdefault(address, {"address": address, "device_id": "", "last_seen": 0, "behind": 0})
        new = 0
        try:
            heads = client.heads()
            if heads.store_id != self.store.store_id:
                raise TransportError(f"peer {address} is a till of store '{heads.store_id}', not of this one")
            info["device_id"] = heads.device_id
            for device, head in sorted(heads.heads.items()):
                if device == self.store.device_id:
                    continue
                new += self._fetch(client, device, head.seq, mine)
            info["behind"] = sum(
                max(0, h.seq - mine.get(d, (0, ""))[0]) for d, h in heads.heads.items() if d != self.store.device_id
            )
            info["last_seen"], info["error"] = system_ms(), ""
        except TransportError as exc:
            info["error"] = str(exc)[:200]
            log.info("%s", exc)  # the message names the peer
        return new

    def _fetch(self, client: PeerClient, device: str, their_seq: int, mine: dict[str, tuple[int, str]]) -> int:
        """The device's events after this till's highest seq of it, page by page, while the peer is ahead; the next
        page is asked for and checked while this one is applied (the network, the check and the disk at once)."""
        have, new = mine.get(device, (0, ""))[0], 0
        retry_from = self.retry.pop(device, None)
        if retry_from is not None:
            have = min(have, retry_from)
            their_seq = max(their_seq, have + 1)
        keys = self.store.known_keys()

        def checked_page(after: int, after_hash: str) -> tuple[Any, _Checked | None]:
            page = client.events(device, after)
            return page, self._check(client, device, page.events, after, after_hash, keys)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="peer-page") as pool:
            ahead = pool.submit(checked_page, have, mine.get(device, (0, ""))[1]) if their_seq > have else None
            for _ in range(100_000):  # bounded: every page moves `have` forward, or the loop ends
                if ahead is None:
                    break
                page, checked = ahead.result()
                if not page.events:
                    break
                top = max(page.events, key=lambda e: e.seq)
                more = page.more and top.seq > have and top.seq < their_seq
                # the next page follows this one's last event (as `have` and its hash will once this one is taken)
                ahead = pool.submit(checked_page, top.seq, top.hash) if more else None
                new += self._take(client, device, checked)
                if top.seq > have:
                    have = top.seq
                    mine[device] = (have, top.hash)
        if (retry_from is not None) or device in self.retry:  # what is still to be asked again, kept
            self.store.set_meta("peer_retry", json.dumps(self.retry, sort_keys=True))
        return new

    def _check(
        self, client: PeerClient, device: str, events: list, have: int, have_hash: str, keys: dict
    ) -> _Checked | None:
        """One page through the event check (on the page's thread: it reads nothing of the store); None when it
        holds nothing to take."""
        # from a peer, only signed events of a device whose key this till knows (they can be relayed)
        signed = [e for e in events if e.device_id == device and e.sig and e.device_id in keys]
        if len(signed) < len(events):
            log.info("peer %s: %d unsigned or unknown events not taken", client.base, len(events) - len(signed))
        if not signed:
            return None
        chained = _signed_chain(signed, have, have_hash, keys[device])
        trusted = {d: k for d, k in keys.items() if d != device} if chained else keys
        return signed, self.store.check_remote(signed, keys=trusted)

    def _take(self, client: PeerClient, device: str, checked: _Checked | None) -> int:
        """One checked page into the store; how many were new."""
        if checked is None:
            return 0
        signed, checks = checked
        applied = self.store.apply_remote(signed, status="relay", checked=checks)
        if applied.not_allowed:
            first = min(e.seq for e in signed if e.event_id in set(applied.not_allowed))
            self.retry[device] = min(self.retry.get(device, first - 1), first - 1)
        if applied.bad or applied.not_allowed:
            log.warning("peer %s: refused %s, not allowed %s", client.base, applied.bad[:20], applied.not_allowed[:20])
        return applied.new

    def _relay(self) -> None:
        if self.transport is None or not peer_store.count_relay(self.store):
            return
        try:
            n = relay_once(self.store, self.transport)
            if n:
                log.info("relayed %d events of other tills to the server", n)
        except TransportError as exc:
            log.info("relay: %s", exc)  # the server is away: the events wait, and so does the next try

    def _client(self, host: str, port: int) -> PeerClient:
        """One client (one keep-alive session) per peer address, made when first needed."""
        if (host, port) not in self.clients:
            self.clients[(host, port)] = PeerClient(self.store, host, port)
        return self.clients[(host, port)]

    def poke_all(self) -> None:
        """This till wrote something: its peers pull from it now rather than at their next round."""
        for host, port in self.addresses():
            client = self._client(host, port)
            try:
                client.poke()
            except TransportError:
                pass  # it pulls at its next round

    def _save(self) -> None:
        text = json.dumps({"peers": sorted(self.peers.values(), key=lambda p: p["address"])}, sort_keys=True)
        if text == self._saved:
            return
        path = state_path(self.store.path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
            self._saved = text
        except OSError as exc:
            log.warning("cannot write %s: %s", path, exc)

    # --- the loop -------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Rounds until `stop`: EVERY_S apart, at once after a local write (peers poked) or a poke."""
        last_round = 0.0
        while not stop.is_set():
            version = self.store.data_version()
            wrote = self._version is not None and version != self._version
            self._version = version
            if wrote:
                self.poke_all()
            due = wrote or self._wake.is_set() or time.monotonic() - last_round >= EVERY_S
            if due and time.monotonic() - last_round >= MIN_GAP_S:
                self._wake.clear()
                try:
                    self.round()
                except Exception:  # noqa: BLE001 - the gossip thread must outlive anything one round meets
                    log.exception("peer round failed")
                last_round = time.monotonic()
                self._version = self.store.data_version()  # what this round wrote is not a local write
            self._wake.wait(0.25)
        for client in self.clients.values():
            client.close()


def _signed_chain(events: list, have_seq: int, have_hash: str, key: tuple[str, int]) -> bool:
    """Whether the page is one unbroken piece of the device's chain, starting right after what this till holds
    of it, whose last event carries the device's signature. Then one signature vouches for the whole page: each
    event's hash covers its content (the event check recomputes it) and, through prev_hash, every event before
    it. Otherwise each event's own signature is checked."""
    prev_seq, prev_hash = have_seq, have_hash if have_seq else GENESIS
    if not prev_hash:
        return False
    for e in events:
        if e.seq != prev_seq + 1 or e.prev_hash != prev_hash:
            return False
        prev_seq, prev_hash = e.seq, e.hash
    last, (public, from_seq) = events[-1], key
    return last.seq >= from_seq and bool(last.sig) and signature_ok(public, last.hash, last.sig)
