"""Device keys (PROTOCOL.md "Trust"): each till signs its own chain with an Ed25519 key of its own.

The private key is 32 random bytes kept as hex in one file beside the database, mode 0600, made once and
never sent anywhere; the public key is registered with the server (`PUT /v1/devices/me/key`) and reaches the
other tills through `GET /v1/devices`. An event's `sig` is the signature of `bytes.fromhex(hash)`: the hash
already covers the whole event and, through `prev_hash`, everything the device wrote before it.

Keys are made, events signed and signatures verified with libsodium (PyNaCl): a verification is about 1.8 times
faster here than `cryptography`'s (~70 us against ~126 us an event), the threads of one server worker or of a
till's sync process verify on every core at once, and the till does not load `cryptography` at all (~6 MB of its
memory). libsodium is the stricter verifier (it also refuses small-order keys and non-canonical signatures, which
no genuine key makes). An Ed25519 key is its 32-byte seed (RFC 8032), so the key files are unchanged.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError
from nacl.signing import SigningKey

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")


class KeyFileError(Exception):
    """The key file cannot be read or is not a key: the message names the file and the way out."""


class DeviceKey:
    def __init__(self, seed: bytes) -> None:
        """The key whose 32-byte seed (the private key, as the key file holds it in hex) is `seed`."""
        self.seed = seed
        self._signing = SigningKey(seed)
        self.public_hex = self._signing.verify_key.encode().hex()

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(os.urandom(32))

    @classmethod
    def load_or_create(cls, path: Path) -> DeviceKey:
        """This till's key: read from `path`, or made and written there (0600, never overwritten)."""
        try:
            return cls.load(path)
        except FileNotFoundError:
            pass
        key = cls.generate()
        seed = key.seed.hex()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of this till made it first: use that one
            return cls.load(path)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(seed + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return key

    @classmethod
    def load(cls, path: Path) -> DeviceKey:
        text = path.read_text(encoding="ascii", errors="replace").strip()
        if not _HEX64.match(text):
            raise KeyFileError(
                f"{path} is not a Caja device key (64 hex characters); restore it from the backup "
                "or re-enrol this till with a new key (`caja serve enroll --device ... --rekey`)"
            )
        return cls(bytes.fromhex(text))

    def sign(self, hash_hex: str) -> str:
        """The `sig` of an event whose `hash` is `hash_hex`."""
        return self._signing.sign(bytes.fromhex(hash_hex)).signature.hex()


def signature_ok(public_hex: str, hash_hex: str, sig_hex: str) -> bool:
    """Whether `sig_hex` is the device's signature of `hash_hex`; False for anything malformed."""
    if not _HEX64.match(public_hex) or not _HEX128.match(sig_hex) or not _HEX64.match(hash_hex):
        return False
    try:  # libsodium's verification of the signed message (signature + message); releases the GIL
        crypto_sign_open(bytes.fromhex(sig_hex) + bytes.fromhex(hash_hex), bytes.fromhex(public_hex))
    except CryptoError:  # BadSignatureError: forged, corrupt, or not a valid key
        return False
    return True
