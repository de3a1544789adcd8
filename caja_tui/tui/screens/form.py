"""A form dialog: labelled fields, each with its error message beside it. Products and customers use it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msgspec import Struct
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label

from ...domain.errors import DomainError
from ...i18n import N_, _, error_text
from ..base import CajaModal
from ..widgets import Entry


class Field(Struct, frozen=True, kw_only=True):
    name: str
    label: str
    value: str = ""
    parse: Callable[[str], Any] = str


class FormScreen(CajaModal):
    """Enter moves to the next field, and saves from the last; F5 saves from anywhere. `save(values)` runs
    the use case: a DomainError naming a field shows beside that field, nothing is written."""

    BINDINGS = [Binding("f5", "save", N_("Save"))]

    def __init__(self, title: str, fields: list[Field], save: Callable[[dict[str, Any]], Any]) -> None:
        super().__init__()
        self.title_text, self.fields, self.save = title, fields, save

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(self.title_text)
            for f in self.fields:
                with Horizontal(classes="field"):
                    yield Label(f.label, classes="field-label")
                    yield Entry(value=f.value, id=f"f-{f.name}", classes="field-input")
                # under its field, the whole width, shown only when there is something to say
                yield Label("", id=f"e-{f.name}", classes="field-error error", markup=False)
            yield Label(_("Enter: next field   F5: save   Esc: cancel"), classes="hint")
            yield Label("", id="message", classes="error")

    def on_mount(self) -> None:
        for f in self.fields:
            self.query_one(f"#e-{f.name}", Label).display = False
        self.query_one(f"#f-{self.fields[0].name}", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        names = [f.name for f in self.fields]
        index = names.index(event.input.id.removeprefix("f-"))
        if index + 1 < len(names):
            self.query_one(f"#f-{names[index + 1]}", Input).focus()
        else:
            self.action_save()

    def _error(self, name: str | None, text: str) -> None:
        if name and any(f.name == name for f in self.fields):
            error = self.query_one(f"#e-{name}", Label)
            error.update(text)
            error.display = True
            self.query_one(f"#f-{name}", Input).focus()
        else:
            self.say(text)

    def action_save(self) -> None:
        values: dict[str, Any] = {}
        for f in self.fields:
            error = self.query_one(f"#e-{f.name}", Label)
            error.update("")
            error.display = False
        self.say("")
        for f in self.fields:
            try:
                values[f.name] = f.parse(self.query_one(f"#f-{f.name}", Input).value)
            except DomainError as exc:
                self._error(f.name, error_text(exc))
                return
        try:
            result = self.save(values)
        except DomainError as exc:
            self._error(exc.field, error_text(exc))
            return
        self.dismiss(result)
