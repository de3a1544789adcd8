"""Configuration: a TOML file decoded into typed msgspec Structs.

Where the file is: `--config PATH`, else `$CAJA_CONFIG`, else `$XDG_CONFIG_HOME/caja/config.toml`
(`~/.config/caja/config.toml`). A missing file means the embedded defaults. A relative `db` path is taken
relative to the config file's folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

Ident = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
HQ_DEVICE = "HQ"  # the server's device in each store (server/hq/device.py): never a till's id


def is_postgres(url: str) -> bool:
    """Whether a server's database URL (`caja serve --db`) is PostgreSQL's; else it is a SQLite file."""
    return url.startswith(("postgresql://", "postgres://"))


def sqlite_file(url: str) -> str:
    """The file of a SQLite database given as `sqlite:///path` or a plain path."""
    return url[len("sqlite:///") :] if url.startswith("sqlite:///") else url


class ConfigError(Exception):
    """A config file that cannot be used; the message is one line naming the key and what was expected."""


class TillConfig(Struct, kw_only=True, forbid_unknown_fields=True):
    store_id: Ident = "demo"
    device_id: Ident = "T01"
    db: str = ""  # empty: $XDG_DATA_HOME/caja/caja.db
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")] = "MXN"
    currency_exponent: Annotated[int, Meta(ge=0, le=4)] = 2
    language: Literal["es", "en"] = "es"
    receipt_prefix: Annotated[str, Meta(pattern=r"^[A-Za-z0-9]{0,8}$")] = ""  # empty: the device id
    receipt_width: Literal[32, 42, 48] = 42  # characters: 58 mm printers 32, 80 mm printers 42 or 48
    timezone: str = ""
    kiosk: bool = False  # quitting, suspending and the command palette need a manager PIN
    discounts_need_manager: bool = False  # a cashier's discount (line or sale) asks for a manager's PIN
    manager_pin_digits: Annotated[int, Meta(ge=4, le=12)] = 4  # the fewest digits of a manager's PIN (4 to 12)
    # The store's settings (STORE_SETTINGS): `config.updated` events, shown by `caja settings` and changed there or
    # on the Settings screen (F11). Read here only from an older till's file: the values of the store's events win,
    # and a value set here that no event has set is written once as an event (application/settings.py).
    shop_name: str = "Caja"
    receipt_header: list[Annotated[str, Meta(max_length=48)]] = []  # address, tax id, phone: one line each
    receipt_footer: Annotated[str, Meta(max_length=200)] = "Gracias por su compra"
    prices_include_tax: bool = True
    low_stock: Annotated[int, Meta(ge=0, le=1_000_000)] = 5  # the stock screen's low-stock filter: at most this


STORE_SETTINGS = ("shop_name", "receipt_header", "receipt_footer", "prices_include_tax", "low_stock")
SETTINGS_DEFAULTS: dict[str, object] = {name: getattr(TillConfig(), name) for name in STORE_SETTINGS}


def file_settings(till: TillConfig) -> dict[str, object]:
    """The store settings a till's TOML sets (an older till's file): those that differ from the defaults."""
    return {name: value for name in STORE_SETTINGS if (value := getattr(till, name)) != SETTINGS_DEFAULTS[name]}


class SyncConfig(Struct, kw_only=True, forbid_unknown_fields=True):
    server_url: str = ""
    token: str = ""
    ca_file: str = ""  # PEM CA bundle an https server's certificate is checked against; empty: the system's
    batch_size: Annotated[int, Meta(ge=1, le=1000)] = 50
    batch_seconds: Annotated[float, Meta(gt=0, le=3600)] = 5.0
    emit_limit_per_minute: Annotated[int, Meta(ge=1, le=1_000_000)] = 100


class PeersConfig(Struct, kw_only=True, forbid_unknown_fields=True):
    """The other tills of the shop on the LAN (PROTOCOL.md "Peers on the shop's LAN")."""

    enabled: bool = True
    listen: str = "0.0.0.0:7870"  # where this till's sync process serves its store's events to its peers
    addresses: list[str] = []  # "host:port" of peers, for networks that block multicast (found by mDNS otherwise)
    mdns: bool = True  # advertise this till and find the others by mDNS/DNS-SD (_caja._tcp)


class PrinterConfig(Struct, kw_only=True, forbid_unknown_fields=True):
    kind: Literal["none", "file", "network", "usb", "serial"] = "none"
    path: str = ""  # file: a device or file, e.g. /dev/usb/lp0
    host: str = ""  # network
    port: Annotated[int, Meta(ge=1, le=65535)] = 9100
    usb_vendor: Annotated[int, Meta(ge=0, le=0xFFFF)] = 0  # usb: ids as integers, e.g. 0x04b8 = 1208
    usb_product: Annotated[int, Meta(ge=0, le=0xFFFF)] = 0
    serial_device: str = ""  # serial: e.g. /dev/ttyUSB0
    baudrate: Annotated[int, Meta(ge=1200, le=921600)] = 9600
    cut: bool = True
    drawer_kick: bool = True  # open the cash drawer (pin 2) after a cash sale


class Config(Struct, kw_only=True, forbid_unknown_fields=True):
    till: TillConfig = msgspec.field(default_factory=TillConfig)
    sync: SyncConfig = msgspec.field(default_factory=SyncConfig)
    printer: PrinterConfig = msgspec.field(default_factory=PrinterConfig)
    peers: PeersConfig = msgspec.field(default_factory=PeersConfig)
    path: str = ""  # where it was read from (not a TOML key)

    @property
    def db_path(self) -> Path:
        if not self.till.db:
            return data_dir() / "caja.db"
        p = Path(os.path.expanduser(self.till.db))
        if not p.is_absolute() and self.path:
            p = Path(self.path).parent / p
        return p

    @property
    def receipt_prefix(self) -> str:
        prefix = self.till.receipt_prefix or re.sub(r"[^A-Za-z0-9]", "", self.till.device_id)[:8] or "T"
        return prefix.upper()


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(base) / "caja" / "config.toml"


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "caja"


def resolve_path(cli_path: str | None) -> Path:
    if cli_path:
        return Path(cli_path)
    if os.environ.get("CAJA_CONFIG"):
        return Path(os.environ["CAJA_CONFIG"])
    return default_config_path()


def _explain(err: msgspec.ValidationError) -> str:
    """'Expected `int`, got `str` - at `$.till.currency_exponent`' -> 'till.currency_exponent: expected int, got str'."""
    text = str(err)
    m = re.match(r"^(.*?)(?: - at `\$\.?(.*)`)?$", text, re.S)
    message, where = (m.group(1), m.group(2)) if m else (text, None)
    unknown = re.match(r"Object contains unknown field `(.+)`", message)
    if unknown:
        key = f"{where}.{unknown.group(1)}" if where else unknown.group(1)
        return f"{key}: unknown key (check the spelling; see config.example.toml)"
    message = message.replace("`", "")
    message = message[0].lower() + message[1:] if message else message
    return f"{where}: {message}" if where else message


def load(cli_path: str | None = None) -> Config:
    path = resolve_path(cli_path)
    if not path.exists():
        if cli_path or os.environ.get("CAJA_CONFIG"):
            # An explicit path that does not exist yet: defaults, remembered for `caja init` to write.
            return Config(path=str(path))
        return Config(path="")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    return parse(raw, str(path))


def parse(raw: bytes | str, path: str = "<config>") -> Config:
    try:
        cfg = msgspec.toml.decode(raw, type=Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: {_explain(exc)}") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    if cfg.path:
        raise ConfigError(f"{path}: path: unknown key (check the spelling; see config.example.toml)")
    if cfg.till.device_id == HQ_DEVICE:
        raise ConfigError(
            f"{path}: till.device_id: '{HQ_DEVICE}' is the server's own device in each store (the owners' edits); "
            "give this till another id (e.g. T01)"
        )
    for key, value in [("peers.listen", cfg.peers.listen)] + [("peers.addresses", a) for a in cfg.peers.addresses]:
        try:
            split_address(value)
        except ValueError as exc:
            raise ConfigError(f"{path}: {key}: {exc}") from None
    return msgspec.structs.replace(cfg, path=path)


def split_address(text: str) -> tuple[str, int]:
    """'host:port' (an IPv6 host in brackets: '[fe80::1]:7870') -> (host, port); ValueError saying what is wrong."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"'{text}' is not host:port (e.g. 192.168.1.21:7870)")
    return host, int(port)


TEMPLATE = """\
# Caja till configuration (TOML). Every key is optional; `caja init` writes this file.
# What belongs to this machine only: the store's settings (shop name, receipt header and footer, tax mode,
# low-stock level) are the store's, shared by its tills: `caja settings`, or the Settings screen (F11).

[till]
# The shop; every till of one shop shares it.
store_id = "{store_id}"
# This till; unique within the store. Receipt numbers and the event log are per device.
device_id = "{device_id}"
# The SQLite file. A relative path is relative to this file's folder.
db = "{db}"
currency = "{currency}"
# Digits after the decimal point: 2 for cents, 0 for currencies without minor units.
currency_exponent = {currency_exponent}
# "es" or "en".
language = "{language}"
# Receipt numbers look like PREFIX-000123; empty: the device id.
receipt_prefix = "{receipt_prefix}"
# Receipt width in characters: 32 for 58 mm printers, 42 or 48 for 80 mm.
receipt_width = {receipt_width}
# IANA time zone for reports and receipts (e.g. "America/Mexico_City"); empty: the system's.
timezone = "{timezone}"
# Kiosk mode (also `caja --kiosk`): quitting, suspending and the command palette need a manager's PIN,
# and a crash restarts the till into sign-in.
kiosk = {kiosk}
# A cashier's discount on a line or on the whole sale asks for a manager's PIN (a manager's never does).
discounts_need_manager = {discounts_need_manager}
# The fewest digits of a manager's new PIN (PINs are 4 to 12 digits); 6 makes guessing one 100 times harder.
manager_pin_digits = {manager_pin_digits}

[sync]
# e.g. "http://192.168.1.10:8765"; empty: no sync (the till works offline only).
server_url = "{server_url}"
# From `caja serve enroll --store STORE --device DEVICE`.
token = "{token}"
# For an https server whose certificate is signed by your own CA: that CA's certificate (PEM). Empty: the
# system's trusted CAs. The certificate is always checked; there is no setting that turns the check off.
ca_file = "{ca_file}"
# Events per push, and the longest an event waits before a push.
batch_size = {batch_size}
batch_seconds = {batch_seconds}
# A guard against a runaway loop: at most this many non-sale events a minute (a sale is never refused).
emit_limit_per_minute = {emit_limit_per_minute}

[peers]
# The shop's other tills on the LAN: this till's sync process serves its store's events to them and takes
# theirs, so the shop works as one while the internet is down. Only tills of this store whose key it knows
# (from the server, or paired on the sync screen) are answered. Open this TCP port between the tills.
enabled = {peers_enabled}
listen = "{peers_listen}"
# Peers are found by mDNS (_caja._tcp); list them here ("192.168.1.21:7870") where multicast is blocked.
addresses = {peers_addresses}
# false: no mDNS (a network whose policy forbids advertising); only the addresses above and paired tills.
mdns = {peers_mdns}

[printer]
# "none", "file" (a device such as /dev/usb/lp0, or a file), "network", "usb" or "serial"; needs the
# printer extra (pip install 'caja[printer]'). A printer that is off never blocks a sale: receipts queue.
kind = "{kind}"
path = "{path}"
host = "{host}"
port = {port}
usb_vendor = {usb_vendor}
usb_product = {usb_product}
serial_device = "{serial_device}"
baudrate = {baudrate}
cut = {cut}
drawer_kick = {drawer_kick}
"""


def render(cfg: Config) -> str:
    t, s, p = cfg.till, cfg.sync, cfg.printer
    values = {**msgspec.structs.asdict(t), **msgspec.structs.asdict(s), **msgspec.structs.asdict(p)}
    values["cut"] = "true" if p.cut else "false"
    values["drawer_kick"] = "true" if p.drawer_kick else "false"
    values["kiosk"] = "true" if t.kiosk else "false"
    values["discounts_need_manager"] = "true" if t.discounts_need_manager else "false"
    values["peers_enabled"] = "true" if cfg.peers.enabled else "false"
    values["peers_listen"] = cfg.peers.listen
    values["peers_addresses"] = msgspec.json.encode(cfg.peers.addresses).decode()
    values["peers_mdns"] = "true" if cfg.peers.mdns else "false"
    return TEMPLATE.format(**values)
