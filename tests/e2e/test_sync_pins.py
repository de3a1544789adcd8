"""Wrong PINs travel like every event (issue 15): a real `caja serve` takes a till's `pin.*` events, another till
pulls them, and the lockout stays on the till where the PINs were typed."""

from __future__ import annotations

import pytest

from caja_tui.application import users
from caja_tui.domain import pins
from caja_tui.domain.errors import DomainError
from caja_tui.store.maintenance import read_model_digests, verify
from caja_tui.sync.engine import SyncEngine
from caja_tui.sync.transport import Transport
from tests.conftest import db, scalar
from tests.integration.test_pins import Clock, open_till


def test_a_lockout_syncs_to_the_other_tills_for_the_audit_and_locks_only_its_own(tmp_path, server):
    clock = Clock()
    a, b = open_till(tmp_path / "a.db", clock, "A"), open_till(tmp_path / "b.db", clock, "B")
    ea, eb = (SyncEngine(s, Transport(server.url, server.enroll("s1", s.device_id)), batch_seconds=0.2) for s in (a, b))
    users.create_user(a, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    for _ in range(pins.LOCK_AT):
        clock.later(pins.MAX_DELAY_MS)
        with pytest.raises(DomainError):
            users.authenticate(a, "ana", "9999")
        with pytest.raises(DomainError):
            users.authenticate(a, "nobody", "9999")  # a user the store does not know: taken by the server too
    assert ea.sync_once() and eb.sync_once()
    assert scalar(a, "SELECT COUNT(*) FROM event WHERE sync_status <> 'synced'") == 0  # none refused
    assert scalar(b, "SELECT COUNT(*) FROM event WHERE type = 'pin.locked' AND device_id = 'A'") == 2
    assert users.authenticate(b, "ana", "1234").id == "ana"  # locked on A, not on B
    with pytest.raises(DomainError, match="locked after 10"):
        users.authenticate(a, "ana", "1234")
    assert read_model_digests(db(a)) == read_model_digests(db(b))
    assert verify(a).ok and verify(b).ok
    a.close()
    b.close()
