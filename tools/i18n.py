"""Extract the screens' strings, write the gettext catalogs and compile them (`make i18n`).

Pure Python, so it runs wherever the till builds: strings are found in the source's syntax tree (calls to
`_()` and `N_()` with a literal), `caja_tui/locale/caja.pot` lists them, `es/LC_MESSAGES/caja.po` pairs them
with tools/es.py's Spanish, and `caja.mo` is the compiled catalog gettext reads. A test checks all three
are up to date and that every placeholder survives translation.
"""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "caja_tui"
LOCALE = PKG / "locale"
SOURCES = [PKG / "i18n.py", *sorted((PKG / "tui").rglob("*.py"))]
# The business rules' refusals are shown on the screens too: their DomainError templates, and the words
# passed in as `what=` ("the count", "price"), are translated where they are shown.
RULES = [*sorted((PKG / "domain").rglob("*.py")), *sorted((PKG / "application").rglob("*.py"))]
HEADER = (
    "Project-Id-Version: caja\\n\nMIME-Version: 1.0\\n\nContent-Type: text/plain; charset=UTF-8\\n\n"
    "Content-Transfer-Encoding: 8bit\\n\nLanguage: {lang}\\n\n"
)


def _strings(node: ast.AST) -> list[str]:
    """The literal strings an argument can be: a constant, or either branch of `a if c else b`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def extract() -> list[str]:
    found: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_")
                and node.args
            ):
                found.update(_strings(node.args[0]))
    for path in RULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Name) and node.func.id == "DomainError" and len(node.args) >= 2:
                found.update(_strings(node.args[1]))
            for kw in node.keywords:
                if kw.arg == "what":
                    found.update(_strings(kw.value))
    return sorted(found)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_po(ids: list[str], translations: dict[str, str], lang: str) -> str:
    out = [f"# Caja, the till's screens ({lang or 'template'}).", 'msgid ""', 'msgstr ""']
    out += [f'"{line}"' for line in HEADER.format(lang=lang).splitlines()]
    for msgid in ids:
        out += ["", f"msgid {_quote(msgid)}", f"msgstr {_quote(translations.get(msgid, ''))}"]
    return "\n".join(out) + "\n"


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr of a catalog written by render_po (one line each)."""
    out: dict[str, str] = {}
    msgid = None
    for line in text.splitlines():
        if line.startswith("msgid "):
            msgid = ast.literal_eval(line[6:])
        elif line.startswith("msgstr ") and msgid is not None:
            out[msgid] = ast.literal_eval(line[7:])
            msgid = None
    return {k: v for k, v in out.items() if k}


def compile_mo(translations: dict[str, str], lang: str) -> bytes:
    """The GNU .mo format: a header, two tables of (length, offset), then the strings."""
    entries = {"": HEADER.format(lang=lang).replace("\\n\n", "\n"), **{k: v for k, v in translations.items() if v}}
    keys = sorted(entries)
    ids = b"".join(k.encode() + b"\0" for k in keys)
    strs = b"".join(entries[k].encode() + b"\0" for k in keys)
    n = len(keys)
    start = 7 * 4 + 16 * n
    offsets, pos_id, pos_str = [], 0, 0
    for k in keys:
        kb, vb = k.encode(), entries[k].encode()
        offsets.append((len(kb), start + pos_id, len(vb), start + len(ids) + pos_str))
        pos_id += len(kb) + 1
        pos_str += len(vb) + 1
    out = struct.pack("<7I", 0x950412DE, 0, n, 7 * 4, 7 * 4 + 8 * n, 0, 0)
    out += b"".join(struct.pack("<2I", a, b) for a, b, _c, _d in offsets)
    out += b"".join(struct.pack("<2I", c, d) for _a, _b, c, d in offsets)
    return out + ids + strs


def build() -> dict[Path, bytes]:
    """Every catalog file as it should be now."""
    sys.path.insert(0, str(ROOT / "tools"))
    from es import ES

    ids = extract()
    es = {k: ES[k] for k in ids if k in ES}
    return {
        LOCALE / "caja.pot": render_po(ids, {}, "").encode(),
        LOCALE / "es" / "LC_MESSAGES" / "caja.po": render_po(ids, es, "es").encode(),
        LOCALE / "es" / "LC_MESSAGES" / "caja.mo": compile_mo(es, "es"),
    }


def main() -> int:
    sys.path.insert(0, str(ROOT / "tools"))
    from es import ES

    missing = [k for k in extract() if k not in ES]
    for path, data in build().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path.relative_to(ROOT)}")
    if missing:
        print("no Spanish yet for (add them to tools/es.py):", *missing, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
