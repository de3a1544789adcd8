"""The store's settings as the till's screens and its line mode read them (application/settings.py): the store's
events, else this till's TOML, else the defaults; and, when the till starts, an older TOML's settings written once
as the store's. No Textual here: the line-mode till uses it too."""

from __future__ import annotations

import logging
import sys

from ..application.settings import StoreSettings, adopt_file_settings, read_settings
from ..bootstrap import TillContext
from ..config import SETTINGS_DEFAULTS, Config, file_settings
from ..i18n import _

log = logging.getLogger("caja.tui")


def current_settings(cfg: Config, store) -> StoreSettings:
    """The store's settings now (one small query)."""
    return read_settings(store, file_settings(cfg.till), SETTINGS_DEFAULTS)


def adopt_settings_of_file(ctx: TillContext, store) -> tuple[str, ...]:
    """An older till's TOML sets store settings no event has set: written once as a `config.updated` (actor
    "system": the installer who wrote the file), so the store's other tills take them; said once, on stderr and in
    the till's log, before the till starts (application/settings.py adopt_file_settings)."""
    adopted = adopt_file_settings(store, file_settings(ctx.cfg.till))
    if adopted:
        text = _(
            "{path}: {keys} now belong to the store's settings (shared by its tills; see `caja settings`); "
            "they were saved as the store's and can be removed from the file"
        ).format(path=ctx.cfg.path or "config", keys=", ".join(adopted))
        print(f"caja: {text}", file=sys.stderr)
        log.warning("%s", text)
    return adopted
