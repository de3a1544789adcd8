"""Device keys: made once, kept 0600, a signature checks only with its own key and its own hash."""

from __future__ import annotations

import hashlib
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caja_tui.protocol.keys import DeviceKey, KeyFileError, signature_ok

KEY = DeviceKey(bytes(range(32)))  # fixed: the same tests in every worker
OTHER = DeviceKey(bytes(range(1, 33)))


def test_the_key_is_made_once_private_to_its_owner_and_read_back_the_same(tmp_path):
    path = tmp_path / "till.key"
    key = DeviceKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert DeviceKey.load_or_create(path).public_hex == key.public_hex  # never overwritten
    assert len(key.public_hex) == 64


def test_a_file_that_is_not_a_key_is_a_clear_error(tmp_path):
    path = tmp_path / "till.key"
    path.write_text("not a key\n")
    with pytest.raises(KeyFileError, match="is not a Caja device key"):
        DeviceKey.load_or_create(path)


@given(st.binary(min_size=1, max_size=64))
def test_a_signature_checks_with_its_own_key_and_hash_only(content):
    digest = hashlib.sha256(content).hexdigest()
    other = hashlib.sha256(content + b".").hexdigest()
    sig = KEY.sign(digest)
    assert signature_ok(KEY.public_hex, digest, sig)
    assert not signature_ok(OTHER.public_hex, digest, sig)  # another till's key
    assert not signature_ok(KEY.public_hex, other, sig)  # another event
    flipped = format(int(sig[:2], 16) ^ 1, "02x") + sig[2:]
    assert not signature_ok(KEY.public_hex, digest, flipped)


@pytest.mark.parametrize(
    "public, sig",
    [
        ("zz" * 32, "00" * 64),
        ("00" * 31, "00" * 64),
        (KEY.public_hex, "00" * 63),
        (KEY.public_hex, "NUL\x00" * 32),
        ("", ""),
    ],
)
def test_malformed_keys_and_signatures_are_refused_not_raised(public, sig):
    assert signature_ok(public, "ab" * 32, sig) is False
