"""The layers of ARCHITECTURE.md, enforced: inner layers never import the outer ones' libraries."""

import subprocess
import sys

import pytest

LIBRARIES = ["peewee", "textual", "requests", "falcon", "sqlite3"]  # the adapters' (and the database's)
OUTER = ["caja_tui.store", "caja_tui.tui", "caja_tui.sync", "caja_tui.server"]
FORBIDDEN = {
    "caja_tui.domain": [*LIBRARIES, "caja_tui.application", *OUTER],
    "caja_tui.application": [*LIBRARIES, *OUTER],
    "caja_tui.store.sqlite": ["textual", "requests", "falcon", "caja_tui.tui", "caja_tui.server"],
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_imports_nothing_from_outer_layers(package):
    # import every module of the package, then list what got loaded
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(getattr(pkg, '__path__', []), pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    bad = [m for m in loaded for f in FORBIDDEN[package] if m == f or m.startswith(f + ".")]
    assert bad == [], f"{package} pulls in {bad}"


def test_importing_the_cli_opens_nothing_and_starts_no_thread():
    code = "import threading, caja_tui.cli, caja_tui.bootstrap\nprint(threading.active_count())\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "1"


def _outside_the_store():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "caja_tui"
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] in ("store", "server"):  # the till's store, and the server's own storage
            continue
        yield rel, ast.parse(path.read_text(encoding="utf-8"))


def test_only_the_store_touches_the_database_connection():
    import ast

    touched = [
        f"{rel}:{node.lineno} .{node.attr}"
        for rel, tree in _outside_the_store()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in ("conn", "_conn")
    ]
    assert touched == [], "ask the store for what you need (a method named for what it returns): " + str(touched)


def test_no_sql_outside_the_store():
    import ast
    import re

    sql = re.compile(
        r"^\s*(SELECT .* FROM|INSERT INTO|UPDATE \w+ SET|DELETE FROM|PRAGMA \w|CREATE (TABLE|INDEX)|"
        r"DROP (TABLE|INDEX)|VACUUM$)"
    )
    found = [
        f"{rel}:{node.lineno}"
        for rel, tree in _outside_the_store()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and sql.match(node.value)
    ]
    assert found == [], f"SQL outside store/: {found}"
