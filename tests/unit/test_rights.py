"""The rule on events that grant rights (domain/rights.py), as a pure function."""

from __future__ import annotations

from caja_tui.domain.events import UserChanges, UserCreated, UserUpdated
from caja_tui.domain.rights import Rights, fold_user, grants_manager, rights_refusal, stamp


def created(user_id: str, role: str = "manager") -> UserCreated:
    return UserCreated(user_id=user_id, name=user_id, role=role, pin_hash="h")  # type: ignore[arg-type]


def updated(user_id: str, **changes) -> UserUpdated:
    return UserUpdated(user_id=user_id, changes=UserChanges(**changes), base_hlc=0)


def view(*events) -> dict[str, Rights]:
    users: dict[str, Rights] = {}
    for i, e in enumerate(events, 1):
        fold_user(users, e, stamp(i, "T1"))
    return users


def test_the_first_manager_of_a_store_needs_no_manager_but_the_second_does():
    assert rights_refusal(created("ana"), "system", {}) is None
    users = view(created("ana"))
    assert rights_refusal(created("bob"), "system", users) is not None
    assert rights_refusal(created("bob"), "ana", users) is None


def test_what_grants_a_managers_rights():
    users = view(created("ana"), created("luis", "cashier"))
    assert grants_manager(created("eve"), users)
    assert grants_manager(created("ana", "cashier"), users)  # a create over a manager overwrites their PIN
    assert grants_manager(updated("luis", role="manager"), users)
    assert grants_manager(updated("ana", pin_hash="x"), users)
    assert grants_manager(updated("ana", active=True), users)
    assert not grants_manager(created("eve", "cashier"), users)
    assert not grants_manager(updated("luis", pin_hash="x"), users)  # a cashier's PIN
    assert not grants_manager(updated("ana", name="Ana M."), users)
    assert not grants_manager(updated("ana", active=False), users)
    for e in (created("eve"), updated("luis", role="manager"), updated("ana", pin_hash="x")):
        assert rights_refusal(e, "luis", users) is not None
        assert rights_refusal(e, "ghost", users) is not None


def test_an_inactive_manager_grants_nothing():
    users = view(created("ana"), created("bob"), updated("ana", active=False))
    assert rights_refusal(created("eve"), "ana", users) is not None
    assert rights_refusal(created("eve"), "bob", users) is None


def test_the_view_is_last_writer_wins_per_field_whatever_the_order():
    a, b, c = created("luis", "cashier"), updated("luis", role="manager"), updated("luis", active=False)
    stamps = {id(a): stamp(1, "T1"), id(b): stamp(2, "T2"), id(c): stamp(3, "T1")}
    for order in ((a, b, c), (c, b, a), (b, a, c), (c, a, b)):
        users: dict[str, Rights] = {}
        for e in order:
            fold_user(users, e, stamps[id(e)])
        assert (users["luis"].role, users["luis"].active) == ("manager", False)
