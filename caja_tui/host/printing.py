"""Receipt printing through python-escpos (the `printer` extra), behind a print queue in the till's database.

A receipt is queued after its sale has committed; the queue is printed by whoever calls `print_pending`
(the till after each sale, a worker, or `caja print-queue --retry`). A printer that is off, unplugged or
out of paper never blocks or loses a sale: the job stays queued with the reason, and prints later.
"""

from __future__ import annotations

import time
from typing import Any

from ..config import PrinterConfig
from ..store.sqlite import SqliteStore


class PrinterUnavailable(Exception):
    """The printer could not print (off, unplugged, out of paper, or not configured)."""


def enqueue(store: SqliteStore, text: str, *, sale_id: str | None = None, drawer: bool = False) -> int:
    return store.add_print_job(text, sale_id=sale_id, drawer=drawer)


def queued(store: SqliteStore) -> list[tuple[int, str | None, int, str | None, int]]:
    """(id, sale_id, attempts, last_error, created_at) of the jobs still waiting."""
    return store.queued_print_jobs()


def open_printer(cfg: PrinterConfig) -> Any:
    if cfg.kind == "none":
        raise PrinterUnavailable("no printer is configured ([printer] kind)")
    try:
        from escpos import printer as escpos_printer
    except ImportError:
        raise PrinterUnavailable("printing needs the printer extra: pip install 'caja[printer]'") from None
    try:
        if cfg.kind == "file":
            return escpos_printer.File(cfg.path)
        if cfg.kind == "network":
            p = escpos_printer.Network(cfg.host, port=cfg.port, timeout=3)
            p.open()
            return p
        if cfg.kind == "usb":
            return escpos_printer.Usb(cfg.usb_vendor, cfg.usb_product)
        return escpos_printer.Serial(cfg.serial_device, baudrate=cfg.baudrate)
    except Exception as exc:  # noqa: BLE001 - every driver fails its own way; the job waits
        raise PrinterUnavailable(f"{cfg.kind} printer: {exc.__class__.__name__}: {exc}") from None


def print_pending(store: SqliteStore, cfg: PrinterConfig, *, limit: int = 20) -> tuple[int, str | None]:
    """Print what is queued, oldest first; stop at the first failure. Returns (printed, error or None)."""
    jobs = store.print_jobs_to_send(limit)
    if not jobs:
        return 0, None
    try:
        printer = open_printer(cfg)
    except PrinterUnavailable as exc:
        store.mark_print_jobs_failed([j[0] for j in jobs[:1]], str(exc))
        return 0, str(exc)
    printed = 0
    try:
        for job_id, text, drawer in jobs:
            try:
                printer.text(text)
                if cfg.cut:
                    printer.cut()
                if drawer and cfg.drawer_kick:
                    printer.cashdraw(2)
                if hasattr(printer, "flush"):
                    printer.flush()
            except Exception as exc:  # noqa: BLE001 - out of paper, unplugged mid-job: the job waits
                store.mark_print_jobs_failed([job_id], f"{exc.__class__.__name__}: {exc}")
                return printed, str(exc)
            store.mark_print_job_printed(job_id, int(time.time() * 1000))
            printed += 1
    finally:
        try:
            printer.close()
        except Exception:  # noqa: BLE001 - closing a dead printer
            pass
    return printed, None
