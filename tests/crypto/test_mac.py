"""The keyed HMAC helper gives exactly ``hmac.digest``'s digests, for any key and message."""

from __future__ import annotations

import dataclasses
import hmac

from hypothesis import given
from hypothesis import strategies as st

from mamori.audit.chain import entry_bytes, link
from mamori.crypto.keys import generate
from mamori.crypto.mac import BLOCK, Mac, hmac_sha256, mac_for
from mamori.crypto.vault import Vault

# Keys shorter than, as long as and longer than a SHA-256 block (longer ones are hashed first).
KEYS = st.one_of(
    st.binary(max_size=2 * BLOCK + 10),
    st.binary(min_size=BLOCK - 1, max_size=BLOCK + 1),
)
MESSAGES = st.binary(max_size=1000)


@given(key=KEYS, message=MESSAGES)
def test_mac_equals_hmac_digest(key: bytes, message: bytes) -> None:
    expected = hmac.digest(key, message, "sha256")
    assert Mac(key).digest(message) == expected
    assert hmac_sha256(key, message) == expected


@given(key=KEYS, messages=st.lists(MESSAGES, max_size=5))
def test_one_mac_serves_many_messages_and_the_inlined_states_agree(
    key: bytes, messages: list[bytes]
) -> None:
    mac = Mac(key)
    new_inner, new_outer = mac.states()
    for message in messages:
        inner = new_inner()
        inner.update(message[:7])
        inner.update(message[7:])
        outer = new_outer()
        outer.update(inner.digest())
        assert outer.digest() == mac.digest(message) == hmac.digest(key, message, "sha256")


def test_a_key_is_set_up_once() -> None:
    assert mac_for(b"k" * 32) is mac_for(b"k" * 32)
    assert mac_for(b"k" * 32) is not mac_for(b"j" * 32)


@given(
    key=st.binary(min_size=32, max_size=32),
    prev=st.binary(min_size=32, max_size=32),
    seq=st.integers(min_value=1, max_value=2**62),
    fields=st.tuples(*[st.text(max_size=30)] * 9),
)
def test_chain_links_are_unchanged(
    key: bytes, prev: bytes, seq: int, fields: tuple[str, ...]
) -> None:
    """Entries written before the helper still verify: the link is the same HMAC."""
    row = (seq, *fields)
    signed = "\x1f".join([str(seq), *fields]).encode()
    assert entry_bytes(row) == signed
    assert link(key, prev, row) == hmac.digest(key, prev + signed, "sha256")


@given(
    blind=st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=3),
    category=st.text(max_size=40),
    value=st.text(max_size=80),
)
def test_blind_digests_are_unchanged(blind: list[bytes], category: str, value: str) -> None:
    """Blind indexes written before the helper still match their look-ups, in every version."""
    keys = dataclasses.replace(generate(), blind=dict(enumerate(blind, start=1)))
    vault = Vault(keys)
    message = f"{category}\x1f{value}".encode()
    for version, key in keys.blind.items():
        assert vault.blind_digest(category, value, version) == hmac.digest(key, message, "sha256")
    assert vault.blind_digest(category, value) == hmac.digest(blind[-1], message, "sha256")
