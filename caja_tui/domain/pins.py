"""PINs are kept as salted scrypt hashes (standard library), compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import os

from .errors import DomainError

_N, _R, _P = 2**14, 8, 1


def check_pin_format(pin: str) -> None:
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise DomainError("BAD_PIN", "a PIN is 4 to 8 digits", field="pin")


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    check_pin_format(pin)
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(digest) // 2
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)
