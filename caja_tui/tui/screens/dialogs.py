"""Modal dialogs. Each returns its result with dismiss(); None means cancelled (Escape)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...application import users
from ...domain.errors import DomainError
from ...domain.events import Tender
from ...i18n import N_, _, error_text
from ...store.errors import StoreError
from ..base import CajaModal
from ..widgets import Entry


def arrows_move(event, box: OptionList, has_items: bool) -> None:
    """Up and Down move the list's highlight while the typing stays in the input line."""
    if event.key in ("up", "down") and has_items:
        event.stop()
        box.action_cursor_down() if event.key == "down" else box.action_cursor_up()


class AskScreen(CajaModal):
    """One question, one line of input. `parse` turns the text into the result or raises DomainError."""

    def __init__(
        self,
        question: str,
        *,
        parse: Callable[[str], Any] = str,
        default: str = "",
        placeholder: str = "",
        password: bool = False,
        preview: Callable[[str], str] | None = None,
    ) -> None:
        """`preview(text)` is shown under the input as it is typed (what Enter would do), when given."""
        super().__init__()
        self.question, self.parse, self.default = question, parse, default
        self.placeholder, self.password, self.preview = placeholder, password, preview

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            yield Entry(value=self.default, placeholder=self.placeholder, password=self.password, id="answer")
            if self.preview is not None:
                yield Label(self.preview(self.default), id="preview", classes="big")
            yield Label("", id="message", classes="error")
            yield Label(_("Enter: accept   Esc: cancel"), classes="hint")

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.preview is not None:
            self.query_one("#preview", Label).update(self.preview(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            self.dismiss(self.parse(event.value))
        except DomainError as exc:
            self.say(error_text(exc))
            event.input.value = ""


class PinScreen(CajaModal):
    """Choose a person (arrows), type their PIN, Enter; `accepted(user)` says what happens then. Wrong PINs make
    the next try wait, then lock the person on this till (application/auth.py); F5 asks a manager to lift it."""

    BINDINGS = [Binding("f5", "unlock", N_("Lift a lockout"), show=False)]
    managers_only = False
    purpose = "sign_in"

    def heading(self) -> str:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.heading())
            yield OptionList(id="people")
            yield Entry(placeholder=_("manager PIN") if self.managers_only else _("PIN"), password=True, id="pin")
            yield Label("", id="message", classes="error")
            yield Label(
                _("arrows: choose   Enter: approve   Esc: cancel")
                if self.managers_only
                else _("arrows: choose   Enter: sign in"),
                classes="hint",
            )

    def on_mount(self) -> None:
        self.list_people()
        if not self.people:
            self.say(
                _("This till has no manager; create one with `caja users add`.")
                if self.managers_only
                else _("This till has no users yet: run `caja init` to create the first manager.")
            )
        self.query_one("#pin", Input).focus()

    def list_people(self) -> None:
        """The people who may sign in here (or approve), those locked on this till marked so."""
        with self.app.store.read() as tx:
            self.people = [u for u in tx.users() if u.role == "manager" or not self.managers_only]
            self.locked = tx.pin_locked()
        box = self.query_one("#people", OptionList)
        at = box.highlighted
        box.clear_options()
        for u in self.people:
            label = u.name if self.managers_only else f"{u.name} ({_(u.role)})"
            box.add_option(label + (" - " + _("locked") if u.id in self.locked else ""))
        box.highlighted = (at or 0) if self.people else None

    def on_key(self, event) -> None:
        arrows_move(event, self.query_one("#people", OptionList), bool(self.people))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#pin", Input).focus()

    def chosen(self):
        index = self.query_one("#people", OptionList).highlighted
        return None if index is None or not self.people else self.people[index]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        person, pin, event.input.value = self.chosen(), event.value, ""
        if person is None:
            return
        try:
            user = users.authenticate(self.app.store, person.id, pin, purpose=self.purpose)
        except DomainError as exc:
            self.list_people()
            locked = person.id in self.locked
            self.say(error_text(exc) + ("  " + _("F5: a manager lifts it") if locked else ""))
            return
        except StoreError as exc:  # a wrong PIN that could not be written down is refused all the same
            self.say(str(exc))
            return
        self.accepted(user)

    def action_unlock(self) -> None:
        person = self.chosen()
        if person is None or person.id not in self.locked:
            self.say(_("{name} is not locked on this till").format(name=person.name) if person else "")
            return

        def lift(manager) -> None:
            users.unlock(self.app.store, manager.id, person.id)
            self.list_people()
            self.say(_("{name} may sign in again").format(name=person.name))

        self.app.with_manager(_("lift {name}'s lockout").format(name=person.name), lift)

    def accepted(self, user) -> None:
        self.dismiss(user)


class ManagerPinScreen(PinScreen):
    """A manager approves a privileged action with their PIN; returns that manager."""

    managers_only = True
    purpose = "approval"

    def __init__(self, why: str) -> None:
        super().__init__()
        self.why = why

    def heading(self) -> str:
        return _("Manager approval: {why}").format(why=self.why)


class MenuScreen(CajaModal):
    """A list of actions, each with a letter: press the letter, or move and press Enter."""

    def __init__(self, title: str, items: list[tuple[str, str, str]]) -> None:
        """items: (letter, label, result)."""
        super().__init__()
        self.title_text, self.items = title, items

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            # names in a title or a choice ("line 2: Jugo [/x] 1L") are text, never markup
            yield Label(self.title_text, markup=False)
            yield OptionList(
                *[Option(Content(f"{letter}  {label}"), id=result) for letter, label, result in self.items], id="menu"
            )

    def on_mount(self) -> None:
        self.query_one("#menu", OptionList).focus()

    def on_key(self, event) -> None:
        for letter, _label, result in self.items:
            if event.character and event.character.lower() == letter:
                event.stop()
                self.dismiss(result)
                return

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class TextScreen(CajaModal):
    """Read-only text (a receipt, a report): scroll with the arrows, Esc or Enter closes."""

    BINDINGS = [Binding("enter", "cancel", N_("Close"))]

    def __init__(self, text: str, *, title: str = "") -> None:
        super().__init__()
        self.text, self.title_text = text, title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            if self.title_text:
                yield Label(self.title_text)
            with VerticalScroll(id="text"):
                yield Static(self.text, markup=False)
            yield Label(_("Enter or Esc: close   arrows: scroll"), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#text", VerticalScroll).focus()


class OpenSessionScreen(AskScreen):
    def __init__(self, parse: Callable[[str], int]) -> None:
        super().__init__(_("Open the cash session: opening float"), parse=lambda t: parse(t or "0"), placeholder="0")


class PaymentScreen(CajaModal):
    """Enter = cash for the amount typed (or the exact amount due); `c`, `k`, `o` + amount = cash, card, other.
    Tenders add up until the total is covered; the change is shown big before the sale is written."""

    BINDINGS = [Binding(f"f{i}", f"quick({i})", f"quick {i}", show=False) for i in range(1, 5)] + [
        Binding("f8", "undo_tender", "remove the last payment", show=False)
    ]
    # the method letters, in English and in Spanish (the hint shows the screen's language's)
    METHODS = {"c": "cash", "e": "cash", "k": "card", "t": "card", "o": "other"}

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total
        self.tenders: list[Tender] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("", id="due", classes="big")
            yield Label("", id="paid")
            yield Entry(placeholder=_("amount, or c 100 / k / o 50"), id="amount")
            yield Label(_("Enter alone: exact cash.  k: card  o: other  c: cash"), classes="hint")
            yield Label(_("Quick cash (F1-F4):"), classes="hint")
            yield Label("", id="quick", classes="hint")
            yield Label(_("F8: remove the last payment   Esc: back to the sale"), classes="hint")
            yield Label("", id="message", classes="error")

    def on_mount(self) -> None:
        self._refresh()
        self.query_one("#amount", Input).focus()

    def _paid(self) -> int:
        return sum(t.amount for t in self.tenders)

    def quick_amounts(self) -> list[int]:
        """Round notes above what is due: what a customer usually hands over."""
        due = max(0, self.total - self._paid())
        unit = 10**self.app.money.exponent
        out: list[int] = []
        for step in (10, 20, 50, 100, 200, 500, 1000):
            amount = -(-due // (step * unit)) * step * unit
            if amount > due and amount not in out:
                out.append(amount)
            if len(out) == 4:
                break
        return out

    def _refresh(self) -> None:
        fmt = self.app.money
        due = max(0, self.total - self._paid())
        self.query_one("#due", Label).update(_("TO PAY {amount}").format(amount=fmt(due)))
        lines = [f"{_(t.method)} {fmt(t.amount)}" for t in self.tenders]
        self.query_one("#paid", Label).update(
            _("Total {total}").format(total=fmt(self.total)) + ("   " + ", ".join(lines) if lines else "")
        )
        self.query_one("#quick", Label).update(
            "  ".join(f"F{i} {fmt(a)}" for i, a in enumerate(self.quick_amounts(), 1))
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip().lower()
        method = self.METHODS.get(text[:1], "cash")
        amount_text = text[1:].strip() if text[:1] in self.METHODS else text
        due = max(0, self.total - self._paid())
        try:
            amount = self.app.money.parse(amount_text) if amount_text else due
        except DomainError as exc:
            self.say(error_text(exc))
            event.input.value = ""  # typed again from the start, as in every other dialog
            return
        event.input.value = ""
        self.tender(method, amount, due)

    def action_undo_tender(self) -> None:
        """A wrong payment typed in a mixed payment: take the last one off."""
        if not self.tenders:
            self.say(_("no payment to remove"))
            return
        removed = self.tenders.pop()
        self.say(_("removed {method} {amount}").format(method=_(removed.method), amount=self.app.money(removed.amount)))
        self._refresh()

    def action_quick(self, i: int) -> None:
        quick = self.quick_amounts()
        if i <= len(quick):
            self.tender("cash", quick[i - 1], max(0, self.total - self._paid()))

    def tender(self, method: str, amount: int, due: int) -> None:
        if amount <= 0:
            self.say(_("the amount must be more than zero"))
            return
        if method != "cash" and amount > due:
            self.say(_("card and other payments cannot be more than what is due"))
            return
        self.tenders.append(Tender(method=method, amount=amount))
        if self._paid() >= self.total:
            self.dismiss(self.tenders)
        else:
            self.say("")
            self._refresh()


class PickScreen(CajaModal):
    """Type to narrow a list; arrows move, Enter (or a click) picks. Subclasses say what to fetch, how a row
    reads and what picking returns."""

    TITLE = ""
    HINT = ""

    def __init__(self, text: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.text, self.placeholder = text, placeholder
        self.found: list = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(_(self.TITLE))
            # the words typed on the sales screen, the cursor after them: typing more narrows the search (Textual
            # would select them on focus, and the next key would replace them)
            yield Entry(value=self.text, placeholder=self.placeholder, id="find", select_on_focus=False)
            yield OptionList(id="results")
            if self.HINT:
                yield Label(_(self.HINT), classes="hint")
            yield Label("", id="message", classes="error")

    def on_mount(self) -> None:
        self.search(self.text)
        self.query_one("#find", Input).focus()

    def fetch(self, text: str) -> list:
        raise NotImplementedError

    def row(self, item) -> str:
        raise NotImplementedError

    def picked(self, item):
        return item

    def search(self, text: str) -> None:
        self.found = self.fetch(text)
        box = self.query_one("#results", OptionList)
        box.clear_options()
        for item in self.found:
            box.add_option(Option(self.row(item)))
        box.highlighted = 0 if self.found else None
        self.say("" if self.found or not text else _("nothing matches '{text}'").format(text=text))

    def on_input_changed(self, event: Input.Changed) -> None:
        self.search(event.value)

    def on_key(self, event) -> None:
        arrows_move(event, self.query_one("#results", OptionList), bool(self.found))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        index = self.query_one("#results", OptionList).highlighted
        if index is not None and self.found:
            self.dismiss(self.picked(self.found[index]))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.picked(self.found[event.option_index]))
