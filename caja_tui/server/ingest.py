"""What a push batch answers and what it stores: the server's ingest rules as one pure decision.

`decide_batch(state, checked)` takes what storage loaded for the batch (`BatchState`) and the batch's events
as the protocol's check left them (protocol/check.py), in request order, and returns one Result per event and
the `Writes` to store. It opens no database: storage.py loads the state, calls it and applies the writes in
the same transaction. The state is updated as the batch is decided, so an event sees the ones before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from ..domain.chain import GENESIS
from ..domain.events import PAYLOAD_TYPES, ConfigUpdated, ProductUpdated, UserCreated, UserUpdated
from ..domain.rights import NOT_ALLOWED, Rights, fold_user, rights_refusal, stamp
from ..protocol import Result
from ..protocol.check import NOT_RECORDED, Checked, breaks_chain

_wire = msgspec.msgpack.Encoder()
MESSAGE_MAX = 500
NO_TYPE = "?"  # what is counted under when it is not even an event (no envelope)
OTHER_TYPE = "other"  # what event types this server does not know are counted under
# the updates whose fields settle last-writer-wins, and whose concurrent writes are answered `conflict`
FIELD_UPDATES = (ProductUpdated, UserUpdated, ConfigUpdated)


def type_label(type_: str) -> str:
    """The type an event is counted under (the `stat` table, /metrics): a known event type, else "other", so
    that what a client sends never creates a series."""
    return type_ if type_ in PAYLOAD_TYPES or type_ == NO_TYPE else OTHER_TYPE


@dataclass
class BatchState:
    """What the rules need to know of what is stored, for the events of one batch of one device."""

    store_id: str
    device_id: str
    now: int  # the received_at of what the batch stores
    conflict_rule: str  # the resolution of an update of a deleted product ("manual" or "last-write-wins")
    # the store's own events and recorded rejections among the batch's ids (an event_id is unique per store: what
    # another store holds under an id is never loaded, so no answer says whether it exists there)
    stored: dict[str, str] = field(default_factory=dict)  # event_id -> hash
    rejected: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # event_id -> (hash, code, message)
    # the device's seqs around the batch's: seq -> (event_id, hash, prev_hash, None when it was rejected)
    at_seq: dict[int, tuple[str, str, str | None]] = field(default_factory=dict)
    deleted: dict[str, str] = field(default_factory=dict)  # entity -> the event that deleted it
    # other devices' writes of a field: (entity, field) -> [(hlc, base_hlc, event_id)], those with an hlc above
    # the lowest base_hlc of the batch's updates of that entity
    field_writes: dict[tuple[str, str], list[tuple[int, int, str]]] = field(default_factory=dict)
    # the store's users as far as rights go (domain/rights.py); loaded when the batch holds a `user.*` event
    users: dict[str, Rights] = field(default_factory=dict)


@dataclass
class Writes:
    """What to store, as rows in the column order of storage.py's inserts."""

    events: list[tuple] = field(default_factory=list)
    rejections: list[tuple] = field(default_factory=list)
    field_writes: list[tuple] = field(default_factory=list)
    conflicts: list[tuple] = field(default_factory=list)
    deletions: dict[str, str | None] = field(default_factory=dict)  # entity -> its deletion now (None: not deleted)
    users: dict[str, Rights] = field(default_factory=dict)  # the users whose rights the batch changed
    stats: dict[tuple[str, str], int] = field(default_factory=dict)  # (type, status) -> count


def decide_batch(state: BatchState, checked: Sequence[Checked]) -> tuple[list[Result], Writes]:
    """One Result per event, in order, and what to store."""
    writes = Writes()
    results = [_one(state, c, writes) for c in checked]
    for c, res in zip(checked, results, strict=True):
        key = (type_label(c.event.type) if c.event else NO_TYPE, res.status)
        writes.stats[key] = writes.stats.get(key, 0) + 1
    return results, writes


def by_device(own: str, checked: Sequence[Checked]) -> dict[str, list[int]]:
    """The batch's indexes per origin device (a relay carries others'), the pushing device's first."""
    groups: dict[str, list[int]] = {own: []}
    for i, c in enumerate(checked):
        groups.setdefault(c.event.device_id if c.event is not None else own, []).append(i)
    return {device: idx for device, idx in groups.items() if idx}


def _rejected(event_id: str, code: str, message: str) -> Result:
    return Result(event_id=event_id, status="rejected", code=code, message=message)  # type: ignore[arg-type]


def _one(st: BatchState, c: Checked, writes: Writes) -> Result:
    w = c.event
    if w is None:  # not even an envelope: nothing to record
        code, message = c.reject or ("INVALID", "invalid event")
        return _rejected(c.event_id, code, message)
    if c.reject is not None and not c.hash_ok:  # content its hash does not cover (a forged or broken copy):
        return _rejected(w.event_id, *c.reject)  # nothing is known of the genuine event; record nothing
    # idempotency first: the same event again gets the same answer
    if w.event_id in st.stored:
        if st.stored[w.event_id] == w.hash:
            return Result(event_id=w.event_id, status="duplicate")
        return _rejected(w.event_id, "ID_REUSED", "this event_id is already stored with other content")
    if w.event_id in st.rejected:
        hash_, code, message = st.rejected[w.event_id]
        if hash_ == w.hash:
            return _rejected(w.event_id, code, message)
        return _rejected(w.event_id, "ID_REUSED", "this event_id was already received with other content")
    if w.seq in st.at_seq:
        return _rejected(w.event_id, "SEQ_REUSED", f"seq {w.seq} of this device is already taken by another event")
    if c.reject is not None:
        if c.reject[0] in NOT_RECORDED:  # heals by itself: the till sends it again later
            return _rejected(w.event_id, *c.reject)
        return _reject(st, c, c.reject[0], c.reject[1], writes)
    # the chain: link to the predecessor when it is here, and to the successor when it already is
    before = st.at_seq.get(w.seq - 1)
    if breaks_chain(w.prev_hash, GENESIS if w.seq == 1 else before[1] if before else None):
        return _reject(st, c, "BROKEN_CHAIN", f"prev_hash differs from the hash of seq {w.seq - 1}", writes)
    after = st.at_seq.get(w.seq + 1)
    if after is not None and breaks_chain(after[2], w.hash):
        return _reject(st, c, "BROKEN_CHAIN", f"seq {w.seq + 1} does not link to this event's hash", writes)
    if isinstance(c.payload, UserCreated | UserUpdated):  # the events that can change who is a manager
        refusal = rights_refusal(c.payload, w.actor, st.users)
        if refusal is not None:  # not recorded: sent again once its actor is a manager here, it may be taken
            return _rejected(w.event_id, NOT_ALLOWED, refusal)
        fold_user(st.users, c.payload, stamp(w.hlc, w.device_id))
        writes.users[c.payload.user_id] = st.users[c.payload.user_id]
    result = _detect_conflict(st, c, writes)
    writes.events.append(
        (
            w.event_id,
            st.store_id,
            st.device_id,
            w.seq,
            w.type,
            w.hlc,
            w.created_at,
            w.actor,
            w.v,
            w.prev_hash,
            w.hash,
            c.payload_json.decode(),
            st.now,
            getattr(w, "sig", None),
            _wire.encode(w),  # what a pull sends of it, encoded once here rather than at every till's pull
        )
    )
    st.stored[w.event_id] = w.hash
    st.at_seq[w.seq] = (w.event_id, w.hash, w.prev_hash)
    return result


def _reject(st: BatchState, c: Checked, code: str, message: str, writes: Writes) -> Result:
    """Record the rejection: the event occupies its seq, and a retry of it gets the same answer.

    Not when the device's next event, already stored, shows this is not the event of that seq (a
    forgery or a stray): the genuine one may still come.
    """
    w = c.event
    assert w is not None
    message = message[:MESSAGE_MAX]
    after = st.at_seq.get(w.seq + 1)
    if after is None or not breaks_chain(after[2], w.hash):
        writes.rejections.append((w.event_id, st.store_id, st.device_id, w.seq, w.hash, code, message, st.now))
        st.rejected[w.event_id] = (w.hash, code, message)
        st.at_seq[w.seq] = (w.event_id, w.hash, None)
    return _rejected(w.event_id, code, message)


def _detect_conflict(st: BatchState, c: Checked, writes: Writes) -> Result:
    """Concurrent updates of one field: last-write-wins; an update of a deleted product: the rule."""
    w, p = c.event, c.payload
    assert w is not None
    if isinstance(p, FIELD_UPDATES):
        entity = p.aggregate()
        fields = list(p.changes.fields())
        if isinstance(p, ProductUpdated) and entity in st.deleted:
            return _conflict(st, w.event_id, st.deleted[entity], st.conflict_rule, w.created_at, writes)
        # the latest write by another device the editor had not seen, while this one was being made; the
        # batch's own writes are this device's, never a rival
        rival = max(
            (fw for f in fields for fw in st.field_writes.get((entity, f), ()) if fw[0] > p.base_hlc and fw[1] < w.hlc),
            key=lambda fw: fw[0],
            default=None,
        )
        writes.field_writes.extend(
            (st.store_id, entity, f, w.event_id, st.device_id, w.hlc, p.base_hlc) for f in fields
        )
        if rival is not None:
            return _conflict(st, w.event_id, rival[2], "last-write-wins", w.created_at, writes)
    elif w.type in ("product.restored", "product.deleted"):
        entity = f"product:{w.payload['product_id']}"
        if w.type == "product.restored":
            st.deleted.pop(entity, None)
        else:  # a product deleted twice stays deleted by the first
            st.deleted.setdefault(entity, w.event_id)
        writes.deletions[entity] = st.deleted.get(entity)
    return Result(event_id=w.event_id, status="accepted")


def _conflict(st: BatchState, event_id: str, other: str, resolution: str, at: int, writes: Writes) -> Result:
    writes.conflicts.append((st.store_id, event_id, other, resolution, at))
    return Result(event_id=event_id, status="conflict", conflict_with=other, resolution=resolution)  # type: ignore[arg-type]
