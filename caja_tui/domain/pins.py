"""PINs: their format, their salted scrypt hashes (standard library, compared in constant time), and how many
wrong ones a till takes before it makes the next try wait, then locks the user on that till. Pure: no I/O.

The hash string carries its parameters (`scrypt$N$r$p$salt$digest`), so a hash made with older parameters
stays verifiable. The cost is what a Raspberry Pi can afford at each sign-in (about 250 ms of one core at a
quarter of its speed): N=2^14, r=10 measured ~54 ms of CPU on the development machine, against ~45 ms for
the N=2^14, r=8 of earlier releases (and ~100 ms for N=2^15, over the budget). A stored hash asking for much
more than that (a forged user event) is refused unverified rather than allowed to tie up the till.

Throttling is per user and per till (`PinState`, folded from this till's own `pin.*` events): after
`DELAY_AFTER` wrong PINs in a row the next try waits 5 s, then 10, 20, 40, 80 (at most `MAX_DELAY_MS`); the
`LOCK_AT`-th locks the user on this till until a manager lifts it. A try that waits or meets a lock is refused
without looking at the PIN and writes nothing, so it can neither guess nor flood the log. Besides, a till
takes at most `TILL_FAILURES_PER_MINUTE` wrong PINs a minute, whoever they are for.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import NamedTuple

from .errors import DomainError

MIN_DIGITS, MAX_DIGITS = 4, 12
_N, _R, _P = 2**14, 10, 1
_MAX_MEMORY = 128 * 16 * 2**15  # bytes (64 MiB): more than any hash Caja makes asks for, at most
# what an unknown user's PIN is checked against, so that the answer takes as long as for a known user
_NOBODY = f"scrypt${_N}${_R}${_P}${'00' * 16}${'00' * 32}"

DELAY_AFTER = 5
LOCK_AT = 10
FIRST_DELAY_MS = 5_000
MAX_DELAY_MS = 300_000
TILL_FAILURES_PER_MINUTE = 20
MINUTE_MS = 60_000


def check_pin_format(pin: str, min_digits: int = MIN_DIGITS) -> None:
    """4 to 12 digits; `min_digits` more for a manager when the till asks for it ([till] manager_pin_digits)."""
    if not (pin.isascii() and pin.isdigit() and MIN_DIGITS <= len(pin) <= MAX_DIGITS):
        raise DomainError("BAD_PIN", "a PIN is 4 to 12 digits", field="pin")
    if len(pin) < min_digits:
        raise DomainError(
            "PIN_TOO_SHORT", "a manager's PIN is at least {digits} digits on this till", field="pin", digits=min_digits
        )


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    check_pin_format(pin)
    salt = salt or os.urandom(16)
    digest = _scrypt(pin, salt, _N, _R, _P, 32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str | None) -> bool:
    """Whether `pin` matches `stored` (None: nobody's, checked as long as anybody's and never matching)."""
    try:
        scheme, n, r, p, salt, digest = (stored or _NOBODY).split("$")
        if scheme != "scrypt" or 128 * int(n) * int(r) * int(p) > _MAX_MEMORY:
            return False
        got = _scrypt(pin, bytes.fromhex(salt), int(n), int(r), int(p), len(digest) // 2)
    except (ValueError, TypeError, OverflowError, MemoryError):
        return False
    return stored is not None and hmac.compare_digest(got.hex(), digest)


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=128 * r * (n + p + 2) + 2**20)


# --- how many wrong PINs a till takes --------------------------------------------------------------------


class PinState(NamedTuple):
    """A user's wrong PINs in a row on one till, whether that locked them there, and when the last one was
    typed (the till's wall clock, ms)."""

    failures: int = 0
    locked: bool = False
    last_failed_at: int = 0


def delay_ms(failures: int) -> int:
    """How long after the last wrong PIN the next try waits: nothing before DELAY_AFTER, then doubling."""
    if failures < DELAY_AFTER:
        return 0
    return min(MAX_DELAY_MS, FIRST_DELAY_MS << min(failures - DELAY_AFTER, 16))


def wait_ms(state: PinState, now: int) -> int:
    """What is left of the wait. A clock set back (a Pi without a clock chip) never makes it longer than the
    delay itself."""
    delay = delay_ms(state.failures)
    return max(0, min(delay, state.last_failed_at + delay - now)) if delay else 0


def _seconds(ms: int) -> int:
    return max(1, -(-ms // 1000))


def refusal(state: PinState, now: int, till_failures: tuple[int, int]) -> DomainError | None:
    """Why this try is refused before its PIN is looked at (None: go on and check it). `till_failures` is
    (how many wrong PINs this till took in the minute before `now`, when the oldest of them was typed)."""
    if state.locked:
        return DomainError(
            "PIN_LOCKED", "locked after {failures} wrong PINs on this till: a manager lifts it", failures=state.failures
        )
    left = wait_ms(state, now)
    if left:
        return DomainError("PIN_WAIT", "too many wrong PINs: wait {seconds} s for the next try", seconds=_seconds(left))
    count, oldest = till_failures
    if count >= TILL_FAILURES_PER_MINUTE:
        return DomainError(
            "PIN_WAIT",
            "too many wrong PINs on this till: wait {seconds} s for the next try",
            seconds=_seconds(min(MINUTE_MS, oldest + MINUTE_MS - now)),
        )
    return None


def wrong_pin(failures: int) -> DomainError:
    """The answer to a wrong PIN (the same for a user this till does not know), after the `failures`-th."""
    if failures >= LOCK_AT:
        return DomainError(
            "PIN_LOCKED",
            "wrong user or PIN; locked on this till after {failures}: a manager lifts it",
            failures=failures,
        )
    if failures >= DELAY_AFTER:
        return DomainError(
            "BAD_PIN", "wrong user or PIN; the next try waits {seconds} s", seconds=delay_ms(failures) // 1000
        )
    return DomainError("BAD_PIN", "wrong user or PIN")


def recordable(user_id: str) -> bool:
    """Whether a typed user id can be written down as the subject of a wrong PIN (an event's bounds)."""
    return 0 < len(user_id) <= 64 and user_id.isprintable()
