"""Sealing and opening personal values, and the blind indexes for look-up.

Every subject has its own 256-bit data key, stored wrapped (AES-256-GCM) by
the key-encryption key. Each value is sealed with AES-256-GCM under the data
key; the subject, the category and the key version are bound in as
associated data, so a ciphertext moved to another subject or field does not
open. A sealed value is::

    0x01 | key version (2 bytes) | nonce (12 bytes) | ciphertext and tag

The vault opens and seals only under a ``Grant`` covering the subject and
the categories; destroying a subject's wrapped key (shredding) makes every
copy of its values unreadable.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mamori.crypto.keys import KeyMaterial
from mamori.crypto.mac import hmac_sha256
from mamori.errors import IntegrityError
from mamori.guard.grant import Grant
from mamori.policy.schemas import Action

FORMAT = 1
_HEADER = struct.Struct(">BH")
_NONCE = 12
_OPENING_ACTIONS = frozenset({Action.READ, Action.EXPORT, Action.PROVIDE})


def _value_aad(subject_ref: str, category: str, key_version: int) -> bytes:
    return f"mamori/v1|{subject_ref}|{category}|{key_version}".encode()


_AAD_SUFFIX: dict[tuple[str, bytes], bytes] = {}


def _aad_suffix(subject_ref: str, category: str, header: bytes) -> bytes:
    """The category-and-version end of a value's associated data, remembered per header."""
    if len(header) < 3:
        raise IntegrityError(
            f"the sealed {category} value of subject {subject_ref} is cut short", code="seal_broken"
        )
    if header[0] != FORMAT:
        raise IntegrityError(f"a sealed {category} value has an unknown format", code="seal_format")
    suffix = f"{category}|{int.from_bytes(header[1:3])}".encode()
    if len(_AAD_SUFFIX) < 100_000:
        _AAD_SUFFIX[category, header] = suffix
    return suffix


def _key_aad(subject_ref: str, kek_version: int) -> bytes:
    return f"mamori/dk/v1|{subject_ref}|{kek_version}".encode()


class WrappedKey:
    """A subject's data key as stored: wrapped, with the KEK version."""

    __slots__ = ("kek_version", "wrapped")

    def __init__(self, kek_version: int, wrapped: bytes) -> None:
        self.kek_version = kek_version
        self.wrapped = wrapped


class Vault:
    """Holds the key ring in memory and does all sealing, opening and hashing."""

    def __init__(self, keys: KeyMaterial) -> None:
        self._keks = {v: AESGCM(k) for v, k in keys.keks.items()}
        self._kek_version = keys.kek_version
        self._blind = dict(keys.blind)
        self._blind_version = keys.blind_version

    # -- data keys ---------------------------------------------------------
    def new_data_key(self, subject_ref: str) -> tuple[bytes, WrappedKey]:
        key = AESGCM.generate_key(bit_length=256)
        return key, self._wrap(subject_ref, key)

    def _wrap(self, subject_ref: str, key: bytes) -> WrappedKey:
        version = self._kek_version
        nonce = os.urandom(_NONCE)
        sealed = self._keks[version].encrypt(nonce, key, _key_aad(subject_ref, version))
        return WrappedKey(version, nonce + sealed)

    def _unwrap(self, subject_ref: str, wrapped: WrappedKey) -> bytes:
        kek = self._keks.get(wrapped.kek_version)
        if kek is None:
            raise IntegrityError(
                f"subject {subject_ref}'s data key is wrapped by key version "
                f"{wrapped.kek_version}, which the key file does not hold",
                code="key_version_unknown",
            )
        blob = wrapped.wrapped
        try:
            return kek.decrypt(
                blob[:_NONCE], blob[_NONCE:], _key_aad(subject_ref, wrapped.kek_version)
            )
        except InvalidTag as exc:
            raise IntegrityError(
                f"subject {subject_ref}'s data key does not open with this key file",
                code="data_key_unopenable",
            ) from exc

    def rewrap(self, subject_ref: str, wrapped: WrappedKey) -> WrappedKey:
        """Wrap a data key under the newest KEK (rotation without re-sealing)."""
        return self._wrap(subject_ref, self._unwrap(subject_ref, wrapped))

    # -- values ------------------------------------------------------------
    def seal(
        self,
        grant: Grant,
        subject_ref: str,
        data_key: bytes | WrappedKey,
        key_version: int,
        values: Mapping[str, str],
    ) -> dict[str, bytes]:
        """Seal ``values`` (category → text) for a write the grant allows.

        ``data_key`` is a fresh key at intake, or the subject's stored wrapped key.
        """
        if grant.action is not Action.WRITE or not grant.covers(subject_ref, set(values)):
            raise IntegrityError(
                "the grant does not allow writing these values", code="grant_mismatch"
            )
        if isinstance(data_key, WrappedKey):
            data_key = self._unwrap(subject_ref, data_key)
        aead = AESGCM(data_key)
        nonces = os.urandom(_NONCE * len(values))
        header = _HEADER.pack(FORMAT, key_version)
        sealed = {}
        for i, (category, text) in enumerate(values.items()):
            nonce = nonces[i * _NONCE : (i + 1) * _NONCE]
            aad = _value_aad(subject_ref, category, key_version)
            sealed[category] = header + nonce + aead.encrypt(nonce, text.encode(), aad)
        return sealed

    def open(
        self,
        grant: Grant,
        subject_ref: str,
        wrapped: WrappedKey,
        sealed: Mapping[str, bytes],
        categories: Iterable[str],
    ) -> dict[str, str]:
        """Open the granted ``categories`` of one subject; absent ones are skipped."""
        wanted = [c for c in categories if c in sealed]
        if grant.action not in _OPENING_ACTIONS or not grant.covers(subject_ref, set(wanted)):
            raise IntegrityError(
                "the grant does not allow opening these values", code="grant_mismatch"
            )
        decrypt = AESGCM(self._unwrap(subject_ref, wrapped)).decrypt
        prefix = f"mamori/v1|{subject_ref}|".encode()
        opened = {}
        for category in wanted:
            token = sealed[category]
            try:
                aad = prefix + _AAD_SUFFIX[category, token[:3]]
            except KeyError:
                aad = prefix + _aad_suffix(subject_ref, category, token[:3])
            try:
                opened[category] = decrypt(token[3:15], token[15:], aad).decode()
            except (InvalidTag, ValueError) as exc:  # ValueError: too short to hold a nonce
                raise IntegrityError(
                    f"the sealed {category} value of subject {subject_ref} does not open: "
                    "it was altered or does not belong there",
                    code="seal_broken",
                ) from exc
        return opened

    # -- blind indexes -------------------------------------------------------
    def blind_digest(self, category: str, lookup_value: str, version: int | None = None) -> bytes:
        """Keyed HMAC of a normalized look-up value; the category is bound in."""
        key = self._blind[version or self._blind_version]
        return hmac_sha256(key, f"{category}\x1f{lookup_value}".encode())

    @property
    def blind_versions(self) -> list[int]:
        return sorted(self._blind, reverse=True)

    @property
    def blind_version(self) -> int:
        return self._blind_version
