"""The back office's admin commands behind `caja serve owners|rebuild|verify` (cli/serve.py parses, this acts).

Each opens the server's storage, makes sure the hq tables exist, does one thing and prints what it did.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...protocol.keys import KeyFileError
from ..run import open_storage
from . import device, owners, projector
from .models import create_tables


def setup(db: str, hq_key: str | None = None) -> str:
    """Create the hq tables and the HQ device's key (before the server's workers start, as run.serve does for its
    own tables); the key file's path."""
    path = Path(hq_key) if hq_key else device.default_key_path(db)
    try:
        key = device.load_key(path)
    except (OSError, KeyFileError) as exc:
        raise device.HqKeyError(f"the HQ key {path}: {exc}; give another place with --hq-key") from None
    storage = open_storage(db)
    try:
        create_tables(storage.database)
        other = device.other_key(storage, key)
    finally:
        storage.close()
    if other:
        print(
            f"caja serve: WARNING stores {', '.join(other)} know another HQ key than {path}: owners' edits to them are "
            "refused. Put back the key file they know (from the backup, or the first server), or run "
            "`caja serve hq-rekey` to make them take this one",
            file=sys.stderr,
        )
    return str(path)


def hq_rekey(db: str, hq_key: str | None) -> int:
    """`caja serve hq-rekey`: the stores' HQ device takes this server's key (a lost or replaced key file)."""
    path = Path(hq_key) if hq_key else device.default_key_path(db)

    def work(storage: Any) -> int:
        stores = device.rekey(storage, device.load_key(path))
        print(
            f"the HQ device of {len(stores)} store(s) signs with {path} from now on"
            + (": " + ", ".join(stores) if stores else "")
        )
        return 0

    return _with_storage(db, work)


def _with_storage(db: str, work: Callable[[Any], int]) -> int:
    storage = open_storage(db)
    try:
        create_tables(storage.database)
        return work(storage)
    finally:
        storage.close()


def owners_add(db: str, name: str, password: str, stores: tuple[str, ...]) -> int:
    def work(storage: Any) -> int:
        o = owners.add(name, password, stores)
        print(f"owner {o.name} added; sees {_stores(o)}. They log in at /hq/ of this server.")
        return 0

    return _with_storage(db, work)


def owners_edit(db: str, name: str, password: str | None, stores: tuple[str, ...] | None) -> int:
    def work(storage: Any) -> int:
        o = owners.edit(name, password=password, stores=stores)
        said = ["sees " + _stores(o)] + (["new password; their sessions ended"] if password is not None else [])
        print(f"owner {o.name}: {'; '.join(said)}")
        return 0

    return _with_storage(db, work)


def owners_remove(db: str, name: str) -> int:
    def work(storage: Any) -> int:
        if not owners.remove(name):
            print(f"caja: no owner '{name}'", file=sys.stderr)
            return 1
        print(f"owner {name} removed; their sessions ended")
        return 0

    return _with_storage(db, work)


def owners_list(db: str, as_json: bool) -> int:
    def work(storage: Any) -> int:
        rows = owners.listing()
        if as_json:
            print(json.dumps([{"name": o.name, "stores": list(o.stores)} for o in rows]))
            return 0
        if not rows:
            print("no owners yet: caja serve owners add NAME --stores all")
        for o in rows:
            print(f"{o.name:<24}{_stores(o)}")
        return 0

    return _with_storage(db, work)


def rebuild(db: str) -> int:
    def work(storage: Any) -> int:
        n = projector.rebuild(storage)
        print(f"owner's read models rebuilt from {n} stored events")
        return 0

    return _with_storage(db, work)


def verify(db: str) -> int:
    """The owner's read models against a fold of the stored events made afresh; 1 when they differ."""

    def work(storage: Any) -> int:
        problems = projector.verify(storage)
        for p in problems[:50]:
            print(f"PROBLEM: owner's read models: {p}")
        if problems:
            print(f"owner's read models differ from the events ({len(problems)}): run 'caja serve rebuild'")
            return 1
        print("ok: owner's read models match the stored events")
        return 0

    return _with_storage(db, work)


def _stores(o: owners.Owner) -> str:
    return "every store" if o.every_store else "store(s) " + ", ".join(o.stores)
