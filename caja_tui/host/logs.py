"""Logging through the standard `logging` module: one JSON formatter, one rotating handler for files.

- The sync log (`caja sync`, `--log FILE`) and the server's access and error log are JSON lines: a record
  logged with `log_event(logger, **fields)` becomes `{"ts": <ms>, **fields}`, the keys their readers parse.
- The till's own files never fill an SD card: rotated at 1 MB, three kept (`rotating`).
- A service's other messages (a library's warning) are plain lines on stderr: journald stamps each line with
  the time and the unit, so the line holds the level, the logger and the message (`to_journal`).
Nothing here runs at import time: the wiring (bootstrap, the CLI, `caja serve`) calls these functions.
"""

from __future__ import annotations

import json
import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

ROTATE_BYTES = 1_000_000
ROTATE_KEEP = 3
TILL_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"  # the till's own log, read by people


class JsonFormatter(logging.Formatter):
    """One JSON object a line. An event record carries its fields (`log_event`); any other record gives its
    level, logger and message (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        if fields is None:
            fields = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
            if record.exc_info:
                fields["traceback"] = self.formatException(record.exc_info)
        return json.dumps({"ts": int(record.created * 1000), **fields}, separators=(",", ":"), default=str)


def log_event(logger: logging.Logger, level: int = logging.INFO, /, **fields: Any) -> None:
    """One structured line: `fields` in the order given (`event` or `kind` first, by convention)."""
    logger.log(level, "%s", fields, extra={"fields": fields})


def rotating(path: Path, formatter: logging.Formatter | None = None) -> RotatingFileHandler:
    """A file of the till's that never fills an SD card: rotated at 1 MB, three kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=ROTATE_BYTES, backupCount=ROTATE_KEEP, encoding="utf-8")
    handler.setFormatter(formatter or JsonFormatter())
    return handler


def json_logger(name: str, handler: logging.Handler) -> logging.Logger:
    """The logger `name` writing JSON lines to `handler` alone (the handlers it had before are closed)."""
    logger = logging.getLogger(name)
    for old in logger.handlers[:]:
        logger.removeHandler(old)
        old.close()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def to_journal(level: int = logging.WARNING) -> None:
    """A service's own messages as plain lines on stderr, for journald (which adds the time and the unit)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


def to_till_file(path: Path) -> None:
    """The till's own log (sign-ins, refusals, crashes with their traceback): a rotated text file."""
    logging.basicConfig(level=logging.INFO, handlers=[rotating(path, logging.Formatter(TILL_FORMAT))])
