"""The compensating event of a refused one (domain/compensate.py), as a pure function."""

from __future__ import annotations

from caja_tui.domain import events as ev
from caja_tui.domain.compensate import compensation
from caja_tui.domain.events import Event

H = "0" * 64


def event(payload, hlc: int, device: str = "T1", seq: int = 1) -> Event:
    return Event(
        event_id=f"e-{device}-{hlc}",
        type=payload.TYPE,
        store_id="s",
        device_id=device,
        seq=seq,
        hlc=hlc,
        created_at=0,
        actor="ana",
        v=1,
        prev_hash=H,
        hash=H,
        payload=payload,
    )


def test_an_update_says_the_stores_values_of_its_fields_again_newest_stamp_winning():
    created = event(ev.CustomerCreated(customer_id="c1", name="Maria", phone="1"), 10)
    other = event(ev.CustomerUpdated(customer_id="c1", changes=ev.CustomerChanges(phone="2"), base_hlc=10), 30, "T2")
    refused = event(ev.CustomerUpdated(customer_id="c1", changes=ev.CustomerChanges(phone="9"), base_hlc=10), 20)
    back = compensation(refused, [other, created])  # any order: folded by stamp
    assert isinstance(back, ev.CustomerUpdated)
    assert back.changes.fields() == {"phone": "2"} and back.base_hlc == 30


def test_a_refused_user_is_deactivated_and_a_refused_overwrite_gives_the_old_fields_back():
    bob = event(ev.UserCreated(user_id="bob", name="Bob", role="manager", pin_hash="h1"), 10)
    back = compensation(bob, [])
    assert isinstance(back, ev.UserUpdated) and back.changes.fields() == {"active": False}
    again = event(ev.UserCreated(user_id="bob", name="Bob", role="manager", pin_hash="h2"), 20, "T2")
    back = compensation(again, [bob])
    assert isinstance(back, ev.UserUpdated)
    assert back.changes.fields() == {"name": "Bob", "role": "manager", "pin_hash": "h1", "active": True}


def test_a_deletion_and_a_restoration_are_undone_by_the_opposite_and_facts_have_no_compensation():
    made = event(ev.ProductCreated(product_id="p1", sku="A", name="A", price=1, tax_rate=0), 10)
    deleted = event(ev.ProductDeleted(product_id="p1"), 20)
    assert isinstance(compensation(deleted, [made]), ev.ProductRestored)
    assert isinstance(compensation(event(ev.ProductRestored(product_id="p1"), 30), [made, deleted]), ev.ProductDeleted)
    counted = event(ev.StockCounted(product_id="p1", counted=3, previous=1), 40)
    assert compensation(counted, [made]) is None
    customer = event(ev.CustomerCreated(customer_id="c1", name="Maria"), 50)
    assert compensation(customer, []) is None
